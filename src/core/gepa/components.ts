/** Which component(s) of the parent the reflector rewrites this iteration. */
export function selectComponents(names: readonly string[], cursor: Record<string, number>, parentId: number, mode: 'round_robin' | 'all'): string[] {
  if (mode === 'all') return names.slice();
  const i = cursor[String(parentId)] ?? 0;
  cursor[String(parentId)] = (i + 1) % names.length;
  return [names[i % names.length]];
}

/**
 * A new candidate continues its parents' round-robin (the furthest pointer among them, as the
 * reference), so a child of a parent that just had component k rewritten goes on with k+1 instead
 * of rewriting the first component again.
 */
export function inheritRoundRobin(cursor: Record<string, number>, childId: number, parentIds: readonly number[]): void {
  cursor[String(childId)] = Math.max(0, ...parentIds.map((p) => cursor[String(p)] ?? 0));
}

/**
 * The system prompt the policy sees: components in order (system_prompt first), separated by blank
 * lines. The task layer renders each problem's user messages itself and has no slots for extra
 * text, so every component reaches the policy through the system message; a component that had no
 * effect on the policy could never win a minibatch, and reflecting on it would waste the budget.
 */
export function renderSystemPrompt(components: Record<string, string>, names: readonly string[]): string {
  return names.map((n) => components[n] ?? '').filter((t) => t.length > 0).join('\n\n');
}

export const SYSTEM_PROMPT_COMPONENT = 'system_prompt';
const NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

/**
 * What is wrong with a config's components, each with the key it is about (empty: nothing). The
 * input schema reports these when the config is parsed, before any run directory exists; the seed
 * is built by seedComponents from a config that passed.
 */
export function componentIssues(cfg: { components?: Record<string, string>; reflection_prompts?: Record<string, string> }): { path: string; message: string }[] {
  const given = cfg.components;
  const issues: { path: string; message: string }[] = [];
  if (given) {
    const names = Object.keys(given);
    if (!names.length) issues.push({ path: 'gepa.components', message: 'gepa.components is empty: give at least a system_prompt (or leave components out to use seed_prompt)' });
    const bad = names.filter((n) => !NAME.test(n));
    if (bad.length) issues.push({ path: 'gepa.components', message: `gepa.components names must be identifiers (letters, digits, _ . -, not starting with a digit); got ${JSON.stringify(bad)}` });
    if (SYSTEM_PROMPT_COMPONENT in given && names[0] !== SYSTEM_PROMPT_COMPONENT) {
      issues.push({ path: 'gepa.components', message: `gepa.components must list system_prompt first; got the order ${JSON.stringify(names)}` });
    }
  }
  const known = given && Object.keys(given).length ? [...new Set([SYSTEM_PROMPT_COMPONENT, ...Object.keys(given)])] : [SYSTEM_PROMPT_COMPONENT];
  const unknown = Object.keys(cfg.reflection_prompts ?? {}).filter((n) => !known.includes(n));
  if (unknown.length) {
    issues.push({ path: 'gepa.reflection_prompts', message: `gepa.reflection_prompts names components that do not exist: ${JSON.stringify(unknown)} (components: ${JSON.stringify(known)})` });
  }
  return issues;
}

/**
 * The seed candidate's components from the config: `components` when given (system_prompt first;
 * when it has no system_prompt, seed_prompt is put first under that name), else
 * {system_prompt: seed_prompt}. A config componentIssues finds fault with is refused (as the schema
 * already did).
 */
export function seedComponents(cfg: { seed_prompt: string; components?: Record<string, string>; reflection_prompts?: Record<string, string> }): Record<string, string> {
  const issues = componentIssues(cfg);
  if (issues.length) throw new Error(issues.map((i) => i.message).join('; '));
  const given = cfg.components;
  if (!given) return { [SYSTEM_PROMPT_COMPONENT]: cfg.seed_prompt };
  return SYSTEM_PROMPT_COMPONENT in given ? { ...given } : { [SYSTEM_PROMPT_COMPONENT]: cfg.seed_prompt, ...given };
}

/**
 * Whether the seed is left to the task: no components, and seed_prompt still the generic default.
 * A task with its own starting prompt (Task.seedPrompt; tau2-airline: policy.md) then seeds GEPA
 * with it, so the reflector rewrites the text the task's episodes run, not the generic line, and a
 * run started from any client (`temporal workflow start` too) optimises the same candidate.
 */
export function seedLeftToTask(cfg: { seed_prompt: string; components?: Record<string, string> }, genericPrompt: string): boolean {
  return cfg.components === undefined && cfg.seed_prompt === genericPrompt;
}

/** The reflection template for a component: its own, else the run's template, else the default (undefined). */
export function reflectionTemplateFor(component: string, cfg: { reflection_template?: string; reflection_prompts?: Record<string, string> }): string | undefined {
  return cfg.reflection_prompts?.[component] ?? cfg.reflection_template;
}
