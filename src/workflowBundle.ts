/**
 * The code every TS worker and replayer runs besides the activities: the workflows, their one error
 * boundary (src/workflows/boundary.ts), and the heartbeat pulse of every TS activity
 * (src/activities/pulse.ts). Use this, never a bare workflowsPath, or an error in workflow code
 * becomes a workflow-task retry loop again and a dead worker's activity waits out its timeout.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pulseInterceptor } from './activities/pulse';

export const WORKFLOW_BUNDLE = {
  workflowsPath: require.resolve('./workflows'),
  interceptors: { workflowModules: [require.resolve('./workflows/boundary')], activity: [pulseInterceptor] },
};

/** Every file the bundle can be made of: the .js/.json (.ts when run from src/) files beside this one, and the workflow SDK version. */
function buildHash(): string {
  const h = createHash('sha256');
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(js|json|ts)$/.test(e.name)) h.update(path.relative(__dirname, p)).update(fs.readFileSync(p));
    }
  };
  walk(__dirname);
  h.update(fs.readFileSync(require.resolve('@temporalio/workflow/package.json')));
  return h.digest('hex').slice(0, 16);
}

/** Bundles of earlier builds kept beside the current one (a worker of one of them may still be starting); older ones are deleted. */
export const KEEP_OLD_BUNDLES = 2;

/**
 * WORKFLOW_BUNDLE with the workflow code bundled once per build and kept in `cacheDir`: webpack
 * takes ~25 s on a busy CPU, and a restarted worker (a crash, a new machine) paid it before polling
 * again, while the runs it serves waited. Keyed by a hash of the build, so a rebuilt dist/ is bundled
 * anew; written to a temporary file and renamed, so a worker killed mid-write leaves no half bundle.
 * A new bundle prunes the cache to it and the KEEP_OLD_BUNDLES newest others (each is a few MB, one
 * per build).
 */
export async function cachedWorkflowBundle(cacheDir: string) {
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const codePath = path.join(cacheDir, `workflow-bundle-${buildHash()}.js`);
  if (!fs.existsSync(codePath)) {
    const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOW_BUNDLE.workflowsPath, workflowInterceptorModules: WORKFLOW_BUNDLE.interceptors.workflowModules });
    fs.mkdirSync(cacheDir, { recursive: true });
    const tmp = `${codePath}.tmp${process.pid}`;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, codePath);
    pruneBundles(cacheDir, path.basename(codePath));
  }
  return { workflowBundle: { codePath }, interceptors: { activity: WORKFLOW_BUNDLE.interceptors.activity } };
}

function pruneBundles(cacheDir: string, current: string): void {
  const old = fs
    .readdirSync(cacheDir)
    .filter((f) => /^workflow-bundle-[0-9a-f]+\.js$/.test(f) && f !== current)
    .map((f) => ({ f, t: fs.statSync(path.join(cacheDir, f)).mtimeMs }))
    .sort((a, b) => b.t - a.t);
  for (const { f } of old.slice(KEEP_OLD_BUNDLES)) fs.rmSync(path.join(cacheDir, f), { force: true });
}
