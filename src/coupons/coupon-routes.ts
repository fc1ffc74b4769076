import type { Route } from '../http/route.ts';
import { cancelUseRoute } from './cancel-use/cancel-use-route.ts';
import { closeCouponRoute } from './close/close-coupon-route.ts';
import type { CouponRouteDeps } from './coupon-route-deps.ts';
import { createCouponRoute } from './create/create-coupon-route.ts';
import { eligibilityRoutes } from './eligibility/eligibility-routes.ts';
import { issueCouponRoutes } from './issue/issue-coupon-route.ts';
import { readCouponRoutes } from './read/read-coupon-routes.ts';
import { revokeUnusedRoute } from './revoke/revoke-unused-route.ts';
import { addStockRoute } from './stock/add-stock-route.ts';
import { useCouponRoute } from './use/use-coupon-route.ts';
import { changeWindowRoute } from './window/change-window-route.ts';
import { queueRoutes } from './queue/queue-routes.ts';
import { holdCouponRoute } from './hold/hold-coupon-route.ts';
import { releaseHoldRoute } from './hold/release-hold-route.ts';

/** The routes that ask admission state in Redis: its decisions and its fast reads. */
export const couponRoutes = (deps: CouponRouteDeps): Route[] => [
  createCouponRoute(deps),
  closeCouponRoute(deps),
  addStockRoute(deps),
  changeWindowRoute(deps),
  ...readCouponRoutes(deps),
  ...issueCouponRoutes(deps),
  ...queueRoutes(deps),
  holdCouponRoute(deps),
  useCouponRoute(deps),
  releaseHoldRoute(deps),
  cancelUseRoute(deps),
  revokeUnusedRoute(deps),
  ...eligibilityRoutes(deps),
];
