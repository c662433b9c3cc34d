/**
 * Temporal connection the standard way (DESIGN §1): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
 * TEMPORAL_API_KEY, TLS settings and profiles through @temporalio/envconfig.
 */
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { DEFAULT_TEMPORAL_ADDRESS, DEFAULT_TEMPORAL_UI } from './constants';

export interface ConnectSettings {
  address: string;
  namespace: string;
  connectionOptions: ReturnType<typeof loadClientConnectConfig>['connectionOptions'];
}

export function connectSettings(): ConnectSettings {
  const cfg = loadClientConnectConfig();
  const connectionOptions = { ...cfg.connectionOptions };
  if (!connectionOptions.address) connectionOptions.address = process.env.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS;
  return {
    address: connectionOptions.address,
    namespace: cfg.namespace ?? process.env.TEMPORAL_NAMESPACE ?? 'default',
    connectionOptions,
  };
}

export function serverDownMessage(address: string, err: unknown): string {
  return (
    `cannot reach the Temporal server at ${address} (${(err as Error)?.message ?? err}).\n` +
    `Start the embedded stack with \`make up\`, or point TEMPORAL_ADDRESS at your Temporal cluster.`
  );
}

/**
 * The Temporal Web UI page of a workflow: GEPA_RL_UI_URL when set, else the embedded stack's UI on
 * GEPA_RL_UI_PORT (scripts/stack.sh starts it there), else the default port.
 */
export function webUiUrl(workflowId: string, namespace = connectSettings().namespace): string {
  const port = process.env.GEPA_RL_UI_PORT;
  const base = process.env.GEPA_RL_UI_URL ?? (port ? `http://localhost:${port}` : DEFAULT_TEMPORAL_UI);
  return `${base.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
