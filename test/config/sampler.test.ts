/**
 * policy.sampler (issue 25): torch (our PyTorch loop, the default) or vllm (a vLLM engine) on
 * backend=local. It reaches the trainer in the model reference of every policy_sample request, and is
 * refused where nothing would read it (tinker samples on its own servers; an API model by its provider).
 */
import { modelRefOf, parseWorkflowInput, policySampleRequestSchema, type RlInput } from '../../src/config';

function refusal(type: any, raw: unknown): string | null {
  try {
    parseWorkflowInput(type, raw);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

test('policy.sampler defaults to torch and reaches the trainer request as model.sampler', () => {
  const dflt = parseWorkflowInput<RlInput>('rlTraining', {});
  expect(dflt.policy.sampler).toBe('torch');
  expect(modelRefOf(dflt.policy)!.sampler).toBe('torch');
  const input = parseWorkflowInput<RlInput>('rlTraining', { policy: { sampler: 'vllm' } });
  const model = modelRefOf(input.policy)!;
  expect(model.sampler).toBe('vllm');
  const req = { model, checkpoint: null, prompts: [[{ role: 'user', content: 'hi' }]], num_samples: 2, sampling: { max_tokens: 8, temperature: 1, top_p: 1, seed: 0 }, blob_dir: '/tmp/b', return_texts: false };
  expect(policySampleRequestSchema.parse(req).model.sampler).toBe('vllm');
  expect(() => policySampleRequestSchema.parse({ ...req, model: { ...model, sampler: 'sglang' } })).toThrow(/sampler/);
});

test('policy.sampler=vllm is refused off backend=local, naming the backend; an unknown sampler is refused naming the choices', () => {
  expect(refusal('rlTraining', { policy: { backend: 'tinker', sampler: 'vllm' } })).toMatch(/policy\.sampler: rlTraining does not read policy\.sampler here: read only with policy\.backend=local \(got tinker: Tinker samples on its own servers\); got "vllm"/);
  expect(refusal('gepaOptimization', { policy: { backend: 'api', sampler: 'vllm' } })).toMatch(/policy\.sampler: .*read only with policy\.backend=local \(got api/);
  expect(refusal('rlTraining', { policy: { backend: 'tinker' } })).toBeNull();
  expect(refusal('evaluation', { policy: { sampler: 'vllm' } })).toBeNull();
  expect(refusal('rlTraining', { policy: { sampler: 'sglang' } })).toMatch(/policy\.sampler: .*"torch"\|"vllm", got "sglang"|policy\.sampler: .*got "sglang"/);
});
