/**
 * Imported first by every entry point: the platform is built and measured on one Node major, and an
 * older one (the machine's own, say) runs it slower or not at all, so anything else stops at once.
 */
export const PINNED_NODE_MAJOR = 24;

const major = Number(process.versions.node.split('.')[0]);
if (major !== PINNED_NODE_MAJOR) {
  process.stderr.write(
    `coupon-platform runs on Node ${PINNED_NODE_MAJOR}, not ${process.versions.node} (${process.execPath}). ` +
      'Run it through npm (npm start, npm test, npm run …), which puts node_modules/.bin/node first; if that is missing, run npm ci.\n',
  );
  process.exit(2);
}
