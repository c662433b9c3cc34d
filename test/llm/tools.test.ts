/**
 * Tool-calling conversions against hand-written OpenAI and Anthropic JSON: tool schemas, tool
 * calls, tool results, parallel calls, null content, malformed arguments; the scripted provider;
 * the local provider refused as an agent.
 */
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type Anthropic from '@anthropic-ai/sdk';
import type OpenAI from 'openai';
import {
  createToolProvider,
  derefSchema,
  fromAnthropicResponse,
  fromOpenAiMessages,
  fromOpenAiResponse,
  openAiToolRequest,
  parseToolArguments,
  toAnthropicRequest,
  toOpenAiMessages,
  type ToolChatMessage,
  type ToolSchema,
} from '../../src/llm/tools';
import { registerScriptedToolReplies } from '../helpers/scriptedProviders';

const tools = JSON.parse(readFileSync(path.join(__dirname, '../../data/tau2_airline/fixtures/openai_tools.json'), 'utf8')) as ToolSchema[];

// a conversation with a greeting first, text + two parallel calls, one erroring result, null content
const history: ToolChatMessage[] = [
  { role: 'system', content: 'SYS' },
  { role: 'assistant', content: 'Hi! How can I help you today?' },
  { role: 'user', content: 'Cancel EHGLP3, I am emma_kim_9957.' },
  {
    role: 'assistant',
    content: 'Let me look.',
    tool_calls: [
      { id: 'call_a', name: 'get_user_details', arguments: '{"user_id": "emma_kim_9957"}' },
      { id: 'call_b', name: 'get_reservation_details', arguments: '{"reservation_id": "EHGLP3"}' },
    ],
  },
  { role: 'tool', tool_call_id: 'call_a', content: '{"user_id": "emma_kim_9957"}' },
  { role: 'tool', tool_call_id: 'call_b', content: 'Error: Reservation EHGLP3 not found', is_error: true },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_c', name: 'calculate', arguments: '{"expression": "2+' }] },
  { role: 'tool', tool_call_id: 'call_c', content: 'Error: invalid arguments', is_error: true },
];

const openAiWire = [
  { role: 'system', content: 'SYS' },
  { role: 'assistant', content: 'Hi! How can I help you today?' },
  { role: 'user', content: 'Cancel EHGLP3, I am emma_kim_9957.' },
  {
    role: 'assistant',
    content: 'Let me look.',
    tool_calls: [
      { id: 'call_a', type: 'function', function: { name: 'get_user_details', arguments: '{"user_id": "emma_kim_9957"}' } },
      { id: 'call_b', type: 'function', function: { name: 'get_reservation_details', arguments: '{"reservation_id": "EHGLP3"}' } },
    ],
  },
  { role: 'tool', tool_call_id: 'call_a', content: '{"user_id": "emma_kim_9957"}' },
  { role: 'tool', tool_call_id: 'call_b', content: 'Error: Reservation EHGLP3 not found' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_c', type: 'function', function: { name: 'calculate', arguments: '{"expression": "2+' } }] },
  { role: 'tool', tool_call_id: 'call_c', content: 'Error: invalid arguments' },
];

describe('OpenAI', () => {
  test('history to wire format and back (is_error has no OpenAI field, so it is the one thing lost)', () => {
    expect(toOpenAiMessages(history)).toEqual(openAiWire);
    const back = fromOpenAiMessages(openAiWire);
    expect(back).toEqual(history.map((m) => (m.role === 'tool' ? { role: 'tool', tool_call_id: m.tool_call_id, content: m.content } : m)));
  });
  test('the request sends tau2\'s schemas unchanged with tool_choice auto', () => {
    const req = openAiToolRequest('gpt-4.1', { messages: history, tools, temperature: 0, seed: 7, parallel_tool_calls: false });
    expect(req.tools).toBe(tools);
    expect(req).toMatchObject({ model: 'gpt-4.1', tool_choice: 'auto', temperature: 0, seed: 7, parallel_tool_calls: false });
    expect(tools.map((t) => t.function.name)).toHaveLength(14);
  });
  test('a response with parallel tool calls and null content', () => {
    const res = {
      id: 'x',
      object: 'chat.completion',
      created: 0,
      model: 'gpt-4.1-2025-04-14',
      choices: [
        {
          index: 0,
          finish_reason: 'tool_calls',
          logprobs: null,
          message: {
            role: 'assistant',
            content: null,
            refusal: null,
            tool_calls: [
              { id: 'c1', type: 'function', function: { name: 'get_user_details', arguments: '{"user_id":"a_b_123"}' } },
              { id: 'c2', type: 'function', function: { name: 'list_all_airports', arguments: '{}' } },
            ],
          },
        },
      ],
      usage: { prompt_tokens: 1000, completion_tokens: 50, total_tokens: 1050 },
    } as unknown as OpenAI.Chat.ChatCompletion;
    const c = fromOpenAiResponse(res, 'gpt-4.1', 'openai', 5);
    expect(c.content).toBeNull();
    expect(c.tool_calls).toEqual([
      { id: 'c1', name: 'get_user_details', arguments: '{"user_id":"a_b_123"}' },
      { id: 'c2', name: 'list_all_airports', arguments: '{}' },
    ]);
    expect(c.finish_reason).toBe('tool_calls');
    expect(c.cost_usd).toBeCloseTo((1000 * 2 + 50 * 8) / 1e6, 10);
  });
  test('unreadable wire messages are errors naming the index', () => {
    expect(() => fromOpenAiMessages([{ role: 'robot', content: 'x' }])).toThrow(/message 0: unknown role "robot"/);
    expect(() => fromOpenAiMessages([{ role: 'tool', content: 'x' }])).toThrow(/message 0: a tool message needs tool_call_id/);
  });
});

describe('Anthropic', () => {
  test('sampling parameters follow the provider rule: top_p alone is sent, both changed is refused', () => {
    const nucleus = toAnthropicRequest('claude-haiku-4-5', { messages: history, tools, top_p: 0.9 }) as unknown as Record<string, unknown>;
    expect(nucleus.top_p).toBe(0.9);
    expect(nucleus.temperature).toBeUndefined();
    expect((toAnthropicRequest('claude-haiku-4-5', { messages: history, tools, temperature: 0.3 }) as unknown as Record<string, unknown>).temperature).toBe(0.3);
    expect(() => toAnthropicRequest('claude-haiku-4-5', { messages: history, tools, temperature: 0.7, top_p: 0.9 })).toThrow(/temperature or top_p, not both \(got temperature=0.7, top_p=0.9\)/);
  });
  test('history to Messages: system on top, a user turn before the greeting, results of one turn in one user message', () => {
    const req = toAnthropicRequest('claude-sonnet-4-5', { messages: history, tools, temperature: 0, max_tokens: 512, parallel_tool_calls: false });
    expect(req.system).toBe('SYS');
    expect(req.max_tokens).toBe(512);
    expect(req.tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(req.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: '.' }] },
      { role: 'assistant', content: [{ type: 'text', text: 'Hi! How can I help you today?' }] },
      { role: 'user', content: [{ type: 'text', text: 'Cancel EHGLP3, I am emma_kim_9957.' }] },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Let me look.' },
          { type: 'tool_use', id: 'call_a', name: 'get_user_details', input: { user_id: 'emma_kim_9957' } },
          { type: 'tool_use', id: 'call_b', name: 'get_reservation_details', input: { reservation_id: 'EHGLP3' } },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'call_a', content: '{"user_id": "emma_kim_9957"}' },
          { type: 'tool_result', tool_use_id: 'call_b', content: 'Error: Reservation EHGLP3 not found', is_error: true },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'call_c', name: 'calculate', input: { _unparsed_arguments: '{"expression": "2+' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'call_c', content: 'Error: invalid arguments', is_error: true }] },
    ]);
  });
  test('schemas are inlined ($defs/$ref removed) with names, descriptions, enums and required lists kept', () => {
    const req = toAnthropicRequest('claude-sonnet-4-5', { messages: history, tools });
    const book = req.tools!.find((t) => (t as Anthropic.Messages.Tool).name === 'book_reservation') as Anthropic.Messages.Tool;
    const text = JSON.stringify(book.input_schema);
    expect(text).not.toContain('$ref');
    expect(text).not.toContain('$defs');
    const orig = tools.find((t) => t.function.name === 'book_reservation')!.function;
    expect(book.description).toBe(orig.description);
    expect((book.input_schema as { required: string[] }).required).toEqual((orig.parameters as { required: string[] }).required);
    const flights = (book.input_schema as { properties: Record<string, { items: { anyOf: { properties?: object; required?: string[] }[] } }> }).properties.flights;
    expect(flights.items.anyOf[0].required).toEqual(['flight_number', 'date']);
    expect(() => derefSchema({ a: { $ref: '#/$defs/Nope' } })).toThrow(/cannot resolve/);
  });
  test('a response with text and parallel tool_use blocks', () => {
    const res = {
      id: 'm',
      type: 'message',
      role: 'assistant',
      model: 'claude-sonnet-4-5',
      stop_reason: 'tool_use',
      stop_sequence: null,
      content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'tu1', name: 'get_user_details', input: { user_id: 'a_b_123' } },
        { type: 'tool_use', id: 'tu2', name: 'list_all_airports', input: {} },
      ],
      usage: { input_tokens: 900, output_tokens: 40, cache_read_input_tokens: 100, cache_creation_input_tokens: 0 },
    } as unknown as Anthropic.Messages.Message;
    const c = fromAnthropicResponse(res, 'claude-sonnet-4-5', 3);
    expect(c).toMatchObject({ content: 'Checking.', finish_reason: 'tool_calls', usage: { prompt_tokens: 1000, completion_tokens: 40 } });
    expect(c.tool_calls).toEqual([
      { id: 'tu1', name: 'get_user_details', arguments: '{"user_id":"a_b_123"}' },
      { id: 'tu2', name: 'list_all_airports', arguments: '{}' },
    ]);
    // round trip: the reply fed back as history gives the same blocks
    const back = toAnthropicRequest('m', { messages: [{ role: 'user', content: 'x' }, { role: 'assistant', content: c.content, tool_calls: c.tool_calls }], tools: [] });
    expect(back.messages[1].content).toEqual(res.content);
  });
});

test('malformed arguments are reported, never thrown', () => {
  expect(parseToolArguments('{"a": 1}')).toEqual({ arguments: { a: 1 } });
  expect(parseToolArguments('')).toEqual({ arguments: {} });
  expect(parseToolArguments('{"a": ').error).toMatch(/not valid JSON.*received "\{\\"a\\": "/);
  expect(parseToolArguments('[1]').error).toMatch(/must be a JSON object/);
});

test('the scripted provider serves tool calls; the local provider is refused as an agent, saying why', async () => {
  registerScriptedToolReplies('scripted-tools', (req, n) => (n === 0 ? { tool_calls: [{ name: 'list_all_airports', arguments: {} }] } : { content: `seen ${req.messages.length}` }));
  const p = createToolProvider({ provider: 'scripted', model: 'scripted-tools' });
  const a = await p.completeWithTools({ messages: [{ role: 'user', content: 'hi' }], tools });
  expect(a.tool_calls).toEqual([{ id: 'call_0_0', name: 'list_all_airports', arguments: '{}' }]);
  expect(a.usage.prompt_tokens).toBeGreaterThan(JSON.stringify(tools).length / 4);
  expect((await p.completeWithTools({ messages: [{ role: 'user', content: 'hi' }], tools })).content).toBe('seen 1');
  expect(() => createToolProvider({ provider: 'local', model: 'smollm2' })).toThrow(/no tools API/);
  expect(() => createToolProvider({ provider: 'openai', model: 'gpt-4.1' }, {})).toThrow(/OPENAI_API_KEY is not set/);
  expect(() => createToolProvider({ provider: 'openai-compatible', model: 'x' }, {})).toThrow(/needs base_url/);
});
