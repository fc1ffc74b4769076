import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTokenVerifier } from '../auth/token-verifier.ts';
import { AdmissionStore } from '../coupons/admission/admission-store.ts';
import { AdmissionRecovery } from '../coupons/recovery/admission-recovery.ts';
import { adminCouponRoutes } from '../coupons/admin-read/admin-coupon-routes.ts';
import { couponRoutes } from '../coupons/coupon-routes.ts';
import { catalogRoute } from '../coupons/catalog/catalog-route.ts';
import { CodeGuesses } from '../coupons/codes/code-guesses.ts';
import { HumanCheck } from '../coupons/human-check/human-check.ts';
import { QueuePasses } from '../coupons/queue/queue-passes.ts';
import { WaitingRooms } from '../coupons/queue/waiting-rooms.ts';
import { HoldExpiry } from '../coupons/hold/hold-expiry.ts';
import { erasePersonRoute } from '../coupons/erasure/erase-person-route.ts';
import { CouponCodes } from '../coupons/codes/coupon-codes.ts';
import { DashboardStreams, dashboardRoutes } from '../dashboard/dashboard-routes.ts';
import { SettledCoupons } from '../coupons/sold-out-memory/settled-coupons.ts';
import { CouponChangeFeed } from '../coupons/sold-out-memory/coupon-change-feed.ts';
import { masterNodes } from '../redis/redis-client.ts';
import { myCouponsRoute } from '../coupons/mine/my-coupons-route.ts';
import { projectionStatusRoute } from '../projector/projection-status.ts';
import { accountRoutes } from '../accounts/account-routes.ts';
import { notificationRoutes } from '../notifications/notification-routes.ts';
import { createApp } from '../http/create-app.ts';
import { routerOf, type Route } from '../http/route.ts';
import { healthRoutes } from '../health/health-routes.ts';
import { metricsRoute } from '../health/metrics-routes.ts';
import { watchOutbox } from '../metrics/runtime-gauges.ts';
import { watchProjectionLag } from '../projector/projection-lag-gauge.ts';
import { openApiRoutes } from '../openapi/openapi-routes.ts';
import { logAndStores, type Runtime } from '../runtime/runtime.ts';
import type { ResolvedConfig } from '../config/config.ts';
import type { RunningRole } from './role.ts';

export interface RunningApi extends RunningRole {
  url: string;
}

/** Every route the API serves, the OpenAPI document's own included: the document is made from this list. */
export function apiRoutes(
  runtime: Runtime, streams = new DashboardStreams(), settled = new SettledCoupons(runtime.redis, runtime.config.admission.shards, runtime.logger), rooms = waitingRooms(runtime),
  holds = holdExpiry(runtime),
): Route[] {
  const { config, redis, db, kafka } = runtime;
  const recovery = admissionRecovery(runtime);
  // A cluster failing over refuses calls for a few seconds: they are tried again (nothing ran) within the retry time.
  const admission = new AdmissionStore(redis, {
    ...config.admission, commandTimeoutMs: config.redis.commandTimeoutMs, retryNotSentMs: config.redisClusterNodes ? config.admission.retryMs : 0,
  },
    (couponId) => recovery.recoverIfLost(couponId), (couponId) => recovery.readLegacyUses(couponId));
  rooms.serve(admission);
  holds.serve(admission);
  // In this order: a 405's Allow header lists a path's methods in the order they were registered.
  const routes = [
    ...healthRoutes(runtime),
    metricsRoute,
    ...couponRoutes({ admission, codes: new CouponCodes(redis), guesses: new CodeGuesses(redis, config.codeGuessLimits),
      humanCheck: new HumanCheck(redis, config.humanCheck), settled, redis, rooms }),
    myCouponsRoute({ db }),
    catalogRoute({ db, admission }),
    ...dashboardRoutes({ db, redis, kafka, admission, streams, topic: config.kafka.topic, shards: config.admission.shards, outboxMaxEntries: config.admission.outboxMaxEntries }),
    ...adminCouponRoutes({ db, kafka, admission, topic: config.kafka.topic, partitions: config.kafka.partitions }),
    projectionStatusRoute({ db, kafka, topic: config.kafka.topic }),
    ...notificationRoutes({ db, expiryNoticeDays: config.notifier.expiryNoticeDays }),
    ...accountRoutes({ db, redis, jwt: config.jwt, limits: config.loginLimits }),
    erasePersonRoute({ db, admission, personal: runtime.personal }),
  ];
  return [...routes, ...openApiRoutes(routes)];
}

/** Passes are signed with QUEUE_PASS_SECRET, or a key derived from the JWT secret; with neither, no coupon may have a waiting room. */
function waitingRooms(runtime: Runtime): WaitingRooms {
  const { queuePassSecret, jwt } = runtime.config;
  const passes = queuePassSecret ? new QueuePasses(queuePassSecret, false) : jwt.secret ? new QueuePasses(jwt.secret, true) : undefined;
  return new WaitingRooms(passes, runtime.logger.child({ component: 'waiting-rooms' }));
}

/** The API's router: one for every path, so a wrong method gets 405 with the right Allow header. */
export const apiRouter = (runtime: Runtime, routes: readonly Route[]) => routerOf(routes, createTokenVerifier(runtime.config.jwt));

/** Where the change feed subscribes: the one Redis, or each node of the cluster in turn (every node hears every PUBLISH). */
const subscriptionNodes = (config: ResolvedConfig): string[] =>
  config.redisClusterNodes ? config.redisClusterNodes.map((node) => `redis://${node}`) : [config.redisUrl];

const admissionRecovery = (runtime: Runtime) => new AdmissionRecovery(logAndStores(runtime));
const holdExpiry = (runtime: Runtime) => new HoldExpiry(runtime.db, runtime.logger.child({ component: 'hold-expiry' }));

export async function startApi(runtime: Runtime): Promise<RunningApi> {
  // A Redis that lost its data is refilled from the log before the first request is admitted.
  await admissionRecovery(runtime).ensureRestored();
  watchOutbox(runtime);
  watchProjectionLag(runtime);
  const streams = new DashboardStreams();
  const settled = new SettledCoupons(runtime.redis, runtime.config.admission.shards, runtime.logger);
  const feed = new CouponChangeFeed(settled, { nodes: subscriptionNodes(runtime.config), publishers: () => masterNodes(runtime.redis) }, runtime.logger.child({ component: 'coupon-change-feed' }));
  void feed.start();
  const rooms = waitingRooms(runtime);
  const holds = holdExpiry(runtime);
  const app = createApp(runtime.logger, [apiRouter(runtime, apiRoutes(runtime, streams, settled, rooms, holds))], runtime.config.http.corsOrigins, runtime.config.http.bodyTimeoutMs, runtime.config.http.trustProxy);
  // No limit on a whole request: an allow-list of millions on a slow uplink takes what it takes. Headers must
  // arrive in time (slow-loris), and a body that stops arriving is answered 408 (request-body.ts). Node reads
  // these when the server is made: set on it afterwards they do nothing (its 300 s default stayed in force).
  const server = createServer({ requestTimeout: 0, headersTimeout: 20_000, connectionsCheckingInterval: 5_000 }, app.callback());
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // With reusePort, N API processes listen on one port and the kernel spreads connections across them.
    server.listen({ port: runtime.config.http.port, host: runtime.config.http.host, reusePort: runtime.config.http.reusePort }, resolve);
  });
  holds.start();
  const { port } = server.address() as AddressInfo;
  const host = runtime.config.http.host === '0.0.0.0' ? '127.0.0.1' : runtime.config.http.host;
  return {
    name: 'api',
    url: `http://${host}:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        // close() stops accepting and waits for in-flight requests; idle keep-alive sockets are closed at once.
        server.close(() => resolve());
        server.closeIdleConnections();
        // Dashboards hold their event streams open; they reconnect to whichever API answers next.
        streams.closeAll();
        rooms.closeAll();
        holds.stop();
        void feed.stop();
        settled.stop();
      }),
  };
}
