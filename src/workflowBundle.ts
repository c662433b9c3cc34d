/**
 * The code every TS worker and replayer runs besides the activities: the workflows, their one error
 * boundary (src/workflows/boundary.ts), and the heartbeat pulse of every TS activity
 * (src/activities/pulse.ts). Use this, never a bare workflowsPath, or an error in workflow code
 * becomes a workflow-task retry loop again and a dead worker's activity waits out its timeout.
 */
import { pulseInterceptor } from './activities/pulse';

export const WORKFLOW_BUNDLE = {
  workflowsPath: require.resolve('./workflows'),
  interceptors: { workflowModules: [require.resolve('./workflows/boundary')], activity: [pulseInterceptor] },
};
