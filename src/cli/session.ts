/** The one Temporal connection of a CLI invocation: opened on first use, closed when main() ends so the process can exit. */
import type { Client } from '@temporalio/client';

let openClient: Promise<Client> | null = null;

export async function client(): Promise<Client> {
  openClient ??= import('../client').then((m) => m.connectClient());
  return openClient;
}

export async function closeClient(): Promise<void> {
  const c = openClient;
  openClient = null;
  if (c) await c.then((cl) => cl.connection.close()).catch(() => undefined);
}
