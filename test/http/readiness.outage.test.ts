import * as assert from 'uvu/assert';
import type { ServiceName } from '../../src/stack/local-stack.ts';
import { Harness } from '../support/api-harness.ts';
import { eventually } from '../support/eventually.ts';
import { skip, spec } from '../support/spec.ts';
import { canStopServices, startService, stopService } from '../support/stack-control.ts';

let harness!: Harness;
const readiness = spec('readiness while a dependency is down', async () => (harness = await Harness.start()));
const readyz = () => harness.request('GET', '/readyz');

for (const name of ['kafka', 'redis', 'mysql'] as ServiceName[]) {
  readiness(`with ${name} stopped /readyz answers 503 naming ${name}; once it is back, 200 again`, async () => {
    if (!canStopServices) skip('local-stack', `the ${name} server is not this run's to stop`);
    await stopService(name);
    try {
      const down = await readyz();
      assert.is(down.status, 503);
      assert.match(String(down.headers['content-type']), /^application\/problem\+json/);
      assert.is(down.body.code, 'DEPENDENCY_UNAVAILABLE');
      assert.equal(down.body.down, [name]);
      assert.match(String(down.body.detail), name);
    } finally {
      await startService(name);
    }
    await eventually(`/readyz to answer 200 after ${name} came back`, readyz, (r) => r.status === 200, { timeoutMs: 60_000, everyMs: 250 });
  });
}

readiness.run();
