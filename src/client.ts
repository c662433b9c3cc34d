/** A Temporal client for the CLI and scripts, connected the standard way (envconfig). */
import { Client, Connection } from '@temporalio/client';
import { connectSettings, serverDownMessage } from './connection';

export class ServerDownError extends Error {
  override name = 'ServerDownError';
}

export async function connectClient(): Promise<Client> {
  const s = connectSettings();
  try {
    const connection = await Connection.connect({ ...s.connectionOptions, connectTimeout: '5s' } as Parameters<typeof Connection.connect>[0]);
    return new Client({ connection, namespace: s.namespace });
  } catch (e) {
    throw new ServerDownError(serverDownMessage(s.address, e));
  }
}
