/** Which component(s) of the parent the reflector rewrites this iteration. */
export function selectComponents(names: readonly string[], cursor: Record<string, number>, parentId: number, mode: 'round_robin' | 'all'): string[] {
  if (mode === 'all') return names.slice();
  const i = cursor[String(parentId)] ?? 0;
  cursor[String(parentId)] = (i + 1) % names.length;
  return [names[i % names.length]];
}

/** The system prompt the policy sees: components in order, separated by blank lines. */
export function renderSystemPrompt(components: Record<string, string>, names: readonly string[]): string {
  return names.map((n) => components[n] ?? '').filter((t) => t.length > 0).join('\n\n');
}
