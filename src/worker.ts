/**
 * The TS worker: every workflow and the TS activities on task queue `gepa-rl`.
 * Start: `node dist/worker.js` (the stack script does it). Prints "worker ready" when polling.
 */
import * as path from 'node:path';
import { NativeConnection, Worker } from '@temporalio/worker';
import * as activities from './activities';
import { TASK_QUEUE } from './constants';
import { connectSettings, serverDownMessage } from './connection';
import { cachedWorkflowBundle } from './workflowBundle';

/** Where the bundled workflow code is kept between worker starts (the trainer's model copies live there too). */
const CACHE_DIR = process.env.GEPA_RL_CACHE ?? path.join(__dirname, '..', '.data', 'cache');

export async function createWorker(connection: NativeConnection, namespace: string, taskQueue = TASK_QUEUE): Promise<Worker> {
  return Worker.create({
    connection,
    namespace,
    taskQueue,
    ...(await cachedWorkflowBundle(CACHE_DIR)),
    activities,
    maxConcurrentActivityTaskExecutions: 8,
  });
}

async function main(): Promise<void> {
  const settings = connectSettings();
  let connection: NativeConnection;
  try {
    connection = await NativeConnection.connect(settings.connectionOptions);
  } catch (e) {
    console.error(serverDownMessage(settings.address, e));
    process.exit(1);
  }
  const worker = await createWorker(connection, settings.namespace);
  console.log(`worker ready: task queue ${TASK_QUEUE} on ${settings.address} (namespace ${settings.namespace})`);
  await worker.run();
  await connection.close();
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
