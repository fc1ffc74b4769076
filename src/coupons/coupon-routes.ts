import Router from '@koa/router';
import { cancelUseRoute } from './cancel-use/cancel-use-route.ts';
import { closeCouponRoute } from './close/close-coupon-route.ts';
import type { CouponRouteDeps } from './coupon-route-deps.ts';
import { createCouponRoute } from './create/create-coupon-route.ts';
import { eligibilityRoutes } from './eligibility/eligibility-routes.ts';
import { issueCouponRoute } from './issue/issue-coupon-route.ts';
import { readCouponRoutes } from './read/read-coupon-routes.ts';
import { revokeUnusedRoute } from './revoke/revoke-unused-route.ts';
import { addStockRoute } from './stock/add-stock-route.ts';
import { useCouponRoute } from './use/use-coupon-route.ts';
import { changeWindowRoute } from './window/change-window-route.ts';

export function couponRoutes(deps: CouponRouteDeps): Router {
  const router = new Router();
  createCouponRoute(router, deps);
  closeCouponRoute(router, deps);
  addStockRoute(router, deps);
  changeWindowRoute(router, deps);
  readCouponRoutes(router, deps);
  issueCouponRoute(router, deps);
  useCouponRoute(router, deps);
  cancelUseRoute(router, deps);
  revokeUnusedRoute(router, deps);
  eligibilityRoutes(router, deps);
  return router;
}
