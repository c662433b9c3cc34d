/**
 * LLM activities on the TS worker: sampling an API policy model (GEPA-only runs on API models).
 * Keys are read from the worker's environment by the provider; they never enter inputs or history.
 */
import { heartbeat } from '@temporalio/activity';
import { apiPromptSeed } from '../core/seeds';
import { providerForActivity, toActivityFailure, type ProviderName } from '../llm';
import { completionTokensPerText } from '../llm/usage';
import { FileBlobStore, readBlob } from '../storage/blobs';
import type { BlobRef, ChatMessage, PolicySampleResult, RolloutsBlob } from '../types';

export interface ApiSampleRequest {
  provider: ProviderName;
  model: string;
  base_url?: string;
  prompts_ref: BlobRef;
  num_samples: number;
  max_tokens: number;
  temperature: number;
  top_p: number;
  seed: number;
  blob_dir: string;
  /** prompts sampled concurrently */
  parallelism: number;
}

/** Same result shape as the trainer's policy_sample, so scoring does not care who sampled. */
export async function apiSample(req: ApiSampleRequest): Promise<PolicySampleResult> {
  const t0 = Date.now();
  const provider = providerForActivity({ provider: req.provider, model: req.model, base_url: req.base_url });
  const prompts = await readBlob<ChatMessage[][]>(req.prompts_ref);
  const out: RolloutsBlob['rollouts'][] = prompts.map(() => []);
  let next = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= prompts.length) return;
      let res;
      try {
        res = await provider.complete({
          messages: prompts[i],
          max_tokens: req.max_tokens,
          temperature: req.temperature,
          top_p: req.top_p,
          n: req.num_samples,
          seed: apiPromptSeed(req.seed, i),
        });
      } catch (e) {
        throw toActivityFailure(e);
      }
      const tokens = completionTokensPerText(res);
      out[i] = res.texts.map((text, s) => ({
        prompt_index: i,
        sample_index: s,
        prompt_token_ids: [],
        token_ids: [],
        logprobs: [],
        text,
        stop_reason: res.finish_reasons[s] === 'length' ? 'length' : 'stop',
        num_tokens: tokens[s],
      }));
      heartbeat({ done: i + 1 });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(req.parallelism, prompts.length)) }, worker));
  const blob: RolloutsBlob = {
    model: { backend: 'api', provider: req.provider, model: req.model, ...(req.base_url ? { base_url: req.base_url } : {}) },
    checkpoint: null,
    rollouts: out.flat(),
  };
  const rollouts_ref = await new FileBlobStore(req.blob_dir).put(blob);
  return {
    rollouts_ref,
    num_tokens: out.map((rs) => rs.map((r) => r.num_tokens ?? 0)),
    texts: null,
    seconds: (Date.now() - t0) / 1000,
  };
}
