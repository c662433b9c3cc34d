/** The teacher sees the problem as the student saw it: the task's rendered prompt (issue 11). */
import { teacherHint } from '../../src/activities/expert';
import { taskConfigSchema } from '../../src/config/task';
import { registerScriptedReplies } from '../helpers/scriptedProviders';
import { getTask, loadSplitsCached } from '../../src/tasks';

test('a HotpotQA hint request carries the paragraphs the student was given, not the bare question', async () => {
  const task = taskConfigSchema.parse({ env: 'hotpotqa' });
  const x = (await loadSplitsCached(task)).train[0];
  const rendered = getTask(task).render(x).map((m) => m.content).join('\n\n');
  const asked: string[] = [];
  registerScriptedReplies('teacher-sees-render', (r) => {
    asked.push(r.messages.map((m) => m.content).join('\n'));
    return 'Compare the two paragraphs about the people named in the question.';
  });
  const out = await teacherHint({
    teacher: { provider: 'scripted', model: 'teacher-sees-render', temperature: 0, max_tokens: 64 },
    task,
    index: 0,
    attempt: 'Answer: nobody',
    previous_leaks: 0,
    seed: 1,
  });
  expect(out.error).toBeNull();
  expect(asked).toHaveLength(1);
  const paragraphs = x.paragraphs as string[];
  expect(paragraphs.length).toBeGreaterThan(1);
  for (const p of paragraphs) expect(asked[0]).toContain(p);
  expect(asked[0]).toContain(rendered);
});
