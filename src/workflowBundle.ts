/**
 * The workflow code every worker and replayer runs: the workflows and their one error boundary
 * (src/workflows/boundary.ts). Use this, never a bare workflowsPath, or an error in workflow code
 * becomes a workflow-task retry loop again.
 */
export const WORKFLOW_BUNDLE = {
  workflowsPath: require.resolve('./workflows'),
  interceptors: { workflowModules: [require.resolve('./workflows/boundary')] },
};
