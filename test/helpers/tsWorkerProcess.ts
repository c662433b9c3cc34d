/**
 * A TS worker in its own process, so a test can kill -9 it (a dead worker, not a shut-down one):
 * `node -r test/cli/tsRegister.js test/helpers/tsWorkerProcess.ts` with TEMPORAL_ADDRESS and
 * GEPA_RL_TEST_TASK_QUEUE set. The scripted policy is registered (tests only); prints "child worker ready".
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from '../../src/activities';
import { WORKFLOW_BUNDLE } from '../../src/workflowBundle';
import { registerScriptedPolicy } from './scripted';

async function main(): Promise<void> {
  registerScriptedPolicy();
  const connection = await NativeConnection.connect({ address: process.env.TEMPORAL_ADDRESS! });
  const worker = await Worker.create({ connection, namespace: 'default', taskQueue: process.env.GEPA_RL_TEST_TASK_QUEUE!, ...WORKFLOW_BUNDLE, activities });
  console.log('child worker ready');
  await worker.run();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
