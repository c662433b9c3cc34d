/**
 * The 14 airline tools with tau2's semantics (tau2-bench @ a2c0247, src/tau2/domains/airline/tools.py,
 * described in ../shared/tau2_airline_spec.md §2.1): the same checks in the same order, the same
 * error strings, the same quirks (double cancel refunds again, updates never touch seats, a negative
 * price difference credits the gift card ...). Every write runs all its checks before it mutates.
 * A tool throws ToolError; the env turns it into "Error: <message>".
 */
import { pyFloat, pyRepr } from './pyjson';
import type { Cabin, DbView, Flight, FlightDate, PaymentMethod, Passenger, PaymentRecord, Reservation, ReservationFlight, User } from './db';

export class ToolError extends Error {
  override name = 'ToolError';
}

export type ToolKind = 'read' | 'write' | 'generic';

export interface AirlineTool {
  name: string;
  kind: ToolKind;
  /** positional parameter names in Python's order (for Python-style argument errors) */
  params: string[];
  run(db: DbView, args: Record<string, unknown>): unknown;
}

const CREATED_AT = '2024-05-15T15:00:00';
const RESERVATION_IDS = ['HATHAT', 'HATHAU', 'HATHAV'];
const CERTIFICATE_IDS = ['certificate_3221322', 'certificate_3221323', 'certificate_3221324'];
const CABINS = ['business', 'economy', 'basic_economy'];

// ---- pydantic-like validation of the nested items (lax mode: "5" and 5.0 become 5, extra keys dropped)

function pyType(v: unknown): string {
  if (v === null || v === undefined) return 'NoneType';
  if (typeof v === 'string') return 'str';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float';
  if (Array.isArray(v)) return 'list';
  return 'dict';
}

function validationError(model: string, field: string, msg: string, type: string, input: unknown): ToolError {
  return new ToolError(
    `1 validation error for ${model}\n${field}\n  ${msg} [type=${type}, input_value=${pyRepr(input)}, input_type=${pyType(input)}]\n    For further information visit https://errors.pydantic.dev/2.13/v/${type}`,
  );
}

type FieldKind = 'str' | 'int';

function validateModel<T>(model: string, fields: [string, FieldKind][], input: unknown): T {
  if (!input || typeof input !== 'object' || Array.isArray(input)) {
    throw new ToolError(
      `1 validation error for ${model}\n  Input should be a valid dictionary or instance of ${model} [type=model_type, input_value=${pyRepr(input)}, input_type=${pyType(input)}]\n    For further information visit https://errors.pydantic.dev/2.13/v/model_type`,
    );
  }
  const o = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [f, kind] of fields) {
    if (!(f in o)) throw validationError(model, f, 'Field required', 'missing', input);
    const v = o[f];
    if (kind === 'str') {
      if (typeof v !== 'string') throw validationError(model, f, 'Input should be a valid string', 'string_type', v);
      out[f] = v;
    } else {
      out[f] = toInt(model, f, v);
    }
  }
  return out as T;
}

function toInt(model: string, field: string, v: unknown): number {
  if (typeof v === 'number') {
    if (Number.isInteger(v)) return v;
    throw validationError(model, field, 'Input should be a valid integer, got a number with a fractional part', 'int_from_float', v);
  }
  if (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v)) return Number(v.trim());
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'string') throw validationError(model, field, 'Input should be a valid integer, unable to parse string as an integer', 'int_parsing', v);
  throw validationError(model, field, 'Input should be a valid integer', 'int_type', v);
}

function list(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  // Python iterates whatever it is given; a non-list is not something tau2's callers send
  throw new ToolError(`'${pyType(v)}' object is not iterable`);
}

const flightInfos = (v: unknown) => list(v).map((x) => validateModel<{ flight_number: string; date: string }>('FlightInfo', [['flight_number', 'str'], ['date', 'str']], x));
const passengers = (v: unknown) => list(v).map((x) => validateModel<Passenger>('Passenger', [['first_name', 'str'], ['last_name', 'str'], ['dob', 'str']], x));
const payments = (v: unknown) => list(v).map((x) => validateModel<PaymentRecord>('Payment', [['payment_id', 'str'], ['amount', 'int']], x));

// ---- lookups

function user(db: DbView, id: unknown): User {
  const u = typeof id === 'string' ? db.get('users', id) : undefined;
  if (!u) throw new ToolError(`User ${id} not found`);
  return u;
}
function reservation(db: DbView, id: unknown): Reservation {
  const r = typeof id === 'string' ? db.get('reservations', id) : undefined;
  if (!r) throw new ToolError(`Reservation ${id} not found`);
  return r;
}
function flight(db: DbView, fn: unknown): Flight {
  const f = typeof fn === 'string' ? db.get('flights', fn) : undefined;
  if (!f) throw new ToolError(`Flight ${fn} not found`);
  return f;
}
function flightDate(f: Flight, date: unknown): FlightDate {
  const d = typeof date === 'string' && Object.prototype.hasOwnProperty.call(f.dates, date) ? f.dates[date] : undefined;
  if (!d) throw new ToolError(`Flight ${f.flight_number} not found on date ${date}`);
  return d;
}

function literal(model: string, field: string, v: unknown, allowed: string[]): string {
  if (typeof v === 'string' && allowed.includes(v)) return v;
  const opts = allowed.map((a) => `'${a}'`);
  const msg = `Input should be ${opts.slice(0, -1).join(', ')} or ${opts[opts.length - 1]}`;
  throw validationError(model, field, msg, 'literal_error', v);
}

/** The payment helper the update tools share (tau2 `_payment_for_update`). */
function paymentForUpdate(u: User, paymentId: unknown, total: number): { method: PaymentMethod | null; record: PaymentRecord | null } {
  const m = typeof paymentId === 'string' && Object.prototype.hasOwnProperty.call(u.payment_methods, paymentId) ? u.payment_methods[paymentId] : undefined;
  if (!m) throw new ToolError('Payment method not found');
  if (m.source === 'certificate') throw new ToolError('Certificate cannot be used to update reservation');
  if (m.source === 'gift_card' && (m.amount ?? 0) < total) throw new ToolError('Gift card balance is not enough');
  return { method: m, record: total !== 0 ? { payment_id: m.id, amount: total } : null };
}

function applyPaymentForUpdate(db: DbView, userId: string, res: Reservation, paymentId: string, total: number, record: PaymentRecord | null): void {
  const u = db.mut('users', userId)!;
  const m = u.payment_methods[paymentId];
  if (m.source === 'gift_card') m.amount = (m.amount ?? 0) - total;
  if (record) res.payment_history.push(record);
}

function directFlight(f: Flight, d: FlightDate, date: string | null): Record<string, unknown> {
  return {
    flight_number: f.flight_number,
    origin: f.origin,
    destination: f.destination,
    status: 'available',
    scheduled_departure_time_est: f.scheduled_departure_time_est,
    scheduled_arrival_time_est: f.scheduled_arrival_time_est,
    date,
    available_seats: d.available_seats,
    prices: d.prices,
  };
}

function searchDirect(db: DbView, date: string, origin: string | null, destination: string | null, leaveAfter: string | null = null): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const fn of db.keys('flights')) {
    const f = db.get('flights', fn)!;
    const okO = origin === null || f.origin === origin;
    const okD = destination === null || f.destination === destination;
    const d = Object.prototype.hasOwnProperty.call(f.dates, date) ? f.dates[date] : undefined;
    const okT = leaveAfter === null || f.scheduled_departure_time_est >= leaveAfter;
    if (okO && okD && d && d.status === 'available' && okT) out.push(directFlight(f, d, null));
  }
  return out;
}

/** Python eval of + - * / ** // ( ) on numbers, enough for the calculator's allowed characters. */
function evalArithmetic(expr: string): number {
  let i = 0;
  const s = expr;
  const ws = () => {
    while (s[i] === ' ') i++;
  };
  const err = (): never => {
    throw new ToolError('invalid syntax (<string>, line 1)');
  };
  const primary = (): number => {
    ws();
    if (s[i] === '(') {
      const open = i;
      i++;
      const v = additive();
      ws();
      if (s[i] !== ')') {
        if (i >= s.length) throw new ToolError(`'(' was never closed (<string>, line 1)`);
        err();
      }
      void open;
      i++;
      return v;
    }
    const m = /^(\d+\.?\d*|\.\d+)/.exec(s.slice(i));
    if (!m) err();
    i += m![0].length;
    return Number(m![0]);
  };
  const unary = (): number => {
    ws();
    if (s[i] === '-') {
      i++;
      return -unary();
    }
    if (s[i] === '+') {
      i++;
      return unary();
    }
    return power();
  };
  const power = (): number => {
    const b = primary();
    ws();
    if (s[i] === '*' && s[i + 1] === '*') {
      i += 2;
      return Math.pow(b, unary());
    }
    return b;
  };
  const term = (): number => {
    let v = unary();
    for (;;) {
      ws();
      if (s[i] === '*' && s[i + 1] !== '*') {
        i++;
        v *= unary();
      } else if (s[i] === '/' && s[i + 1] === '/') {
        i += 2;
        const r = unary();
        if (r === 0) throw new ToolError('integer division or modulo by zero');
        v = Math.floor(v / r);
      } else if (s[i] === '/') {
        i++;
        const r = unary();
        if (r === 0) throw new ToolError('division by zero');
        v /= r;
      } else return v;
    }
  };
  const additive = (): number => {
    let v = term();
    for (;;) {
      ws();
      if (s[i] === '+') {
        i++;
        v += term();
      } else if (s[i] === '-') {
        i++;
        v -= term();
      } else return v;
    }
  };
  const v = additive();
  ws();
  if (i < s.length) err();
  return v;
}

/**
 * Python round(x, 2): correctly rounded from the exact binary value (toFixed does that, ties up);
 * exact ties exist only for x = odd/8 (.125, .375 ...), where Python rounds half to even.
 */
function pyRound2(x: number): number {
  if (!Number.isFinite(x)) return x;
  const eighths = x * 8;
  if (Number.isInteger(eighths) && Math.abs(eighths) % 2 === 1) {
    const c = Math.floor(x * 100);
    return (c % 2 === 0 ? c : c + 1) / 100;
  }
  return Number(x.toFixed(2));
}

const AIRPORTS: [string, string][] = [
  ['SFO', 'San Francisco'], ['JFK', 'New York'], ['LAX', 'Los Angeles'], ['ORD', 'Chicago'], ['DFW', 'Dallas'],
  ['DEN', 'Denver'], ['SEA', 'Seattle'], ['ATL', 'Atlanta'], ['MIA', 'Miami'], ['BOS', 'Boston'], ['PHX', 'Phoenix'],
  ['IAH', 'Houston'], ['LAS', 'Las Vegas'], ['MCO', 'Orlando'], ['EWR', 'Newark'], ['CLT', 'Charlotte'],
  ['MSP', 'Minneapolis'], ['DTW', 'Detroit'], ['PHL', 'Philadelphia'], ['LGA', 'LaGuardia'],
];

export const AIRLINE_TOOLS: AirlineTool[] = [
  {
    name: 'book_reservation',
    kind: 'write',
    params: ['user_id', 'origin', 'destination', 'flight_type', 'cabin', 'flights', 'passengers', 'payment_methods', 'total_baggages', 'nonfree_baggages', 'insurance'],
    run(db, a) {
      const fl = flightInfos(a.flights);
      const pax = passengers(a.passengers);
      const pays = payments(a.payment_methods);
      const u = user(db, a.user_id);
      const id = RESERVATION_IDS.find((r) => !db.has('reservations', r));
      if (!id) throw new ToolError('Too many reservations');
      const flightType = literal('Reservation', 'flight_type', a.flight_type, ['round_trip', 'one_way']);
      const cabin = literal('Reservation', 'cabin', a.cabin, CABINS) as Cabin;
      const totalBags = toInt('Reservation', 'total_baggages', a.total_baggages);
      const nonfreeBags = toInt('Reservation', 'nonfree_baggages', a.nonfree_baggages);
      const insurance = literal('Reservation', 'insurance', a.insurance, ['yes', 'no']);
      for (const [f, v] of [['user_id', a.user_id], ['origin', a.origin], ['destination', a.destination]] as const) {
        if (typeof v !== 'string') throw validationError('Reservation', f, 'Input should be a valid string', 'string_type', v);
      }
      const segments: ReservationFlight[] = [];
      let total = 0;
      const seatUpdates: [string, string][] = [];
      for (const fi of fl) {
        const f = flight(db, fi.flight_number);
        const d = flightDate(f, fi.date);
        if (d.status !== 'available') throw new ToolError(`Flight ${fi.flight_number} not available on date ${fi.date}`);
        if ((d.available_seats?.[cabin] ?? 0) < pax.length) throw new ToolError(`Not enough seats on flight ${fi.flight_number}`);
        const price = d.prices![cabin];
        segments.push({ flight_number: fi.flight_number, origin: f.origin, destination: f.destination, date: fi.date, price });
        total += price * pax.length;
        seatUpdates.push([fi.flight_number, fi.date]);
      }
      if (insurance === 'yes') total += 30 * pax.length;
      total += 50 * nonfreeBags;
      for (const p of pays) {
        const m = Object.prototype.hasOwnProperty.call(u.payment_methods, p.payment_id) ? u.payment_methods[p.payment_id] : undefined;
        if (!m) throw new ToolError(`Payment method ${p.payment_id} not found`);
        if ((m.source === 'gift_card' || m.source === 'certificate') && (m.amount ?? 0) < p.amount) throw new ToolError(`Not enough balance in payment method ${p.payment_id}`);
      }
      const paid = pays.reduce((s, p) => s + p.amount, 0);
      if (paid !== total) throw new ToolError(`Payment amount does not add up, total price is ${total}, but paid ${paid}`);
      // all checks passed: mutate
      const mu = db.mut('users', u.user_id)!;
      for (const p of pays) {
        const m = mu.payment_methods[p.payment_id];
        if (!m) continue; // a certificate listed twice was already removed
        if (m.source === 'gift_card') m.amount = (m.amount ?? 0) - p.amount;
        else if (m.source === 'certificate') delete mu.payment_methods[p.payment_id];
      }
      for (const [fn, date] of seatUpdates) {
        const f = db.mut('flights', fn)!;
        f.dates[date].available_seats![cabin] -= pax.length;
      }
      const res: Reservation = {
        reservation_id: id,
        user_id: a.user_id as string,
        origin: a.origin as string,
        destination: a.destination as string,
        flight_type: flightType,
        cabin,
        flights: segments,
        passengers: pax.map((p) => ({ ...p })),
        payment_history: pays.map((p) => ({ ...p })),
        created_at: CREATED_AT,
        total_baggages: totalBags,
        nonfree_baggages: nonfreeBags,
        insurance,
        status: null,
      };
      db.insert('reservations', id, res);
      mu.reservations.push(id);
      return res;
    },
  },
  {
    name: 'calculate',
    kind: 'generic',
    params: ['expression'],
    run(_db, a) {
      const e = a.expression;
      if (typeof e !== 'string' || ![...e].every((c) => '0123456789+-*/(). '.includes(c))) throw new ToolError('Invalid characters in expression');
      return pyFloat(pyRound2(evalArithmetic(e)));
    },
  },
  {
    name: 'cancel_reservation',
    kind: 'write',
    params: ['reservation_id'],
    run(db, a) {
      reservation(db, a.reservation_id);
      const r = db.mut('reservations', a.reservation_id as string)!;
      const refunds = r.payment_history.map((p) => ({ payment_id: p.payment_id, amount: -p.amount }));
      r.payment_history.push(...refunds);
      r.status = 'cancelled';
      return r;
    },
  },
  {
    name: 'get_reservation_details',
    kind: 'read',
    params: ['reservation_id'],
    run: (db, a) => reservation(db, a.reservation_id),
  },
  {
    name: 'get_user_details',
    kind: 'read',
    params: ['user_id'],
    run: (db, a) => user(db, a.user_id),
  },
  {
    name: 'list_all_airports',
    kind: 'read',
    params: [],
    run: () => AIRPORTS.map(([iata, city]) => ({ iata, city })),
  },
  {
    name: 'search_direct_flight',
    kind: 'read',
    params: ['origin', 'destination', 'date'],
    run: (db, a) => searchDirect(db, a.date as string, a.origin as string, a.destination as string),
  },
  {
    name: 'search_onestop_flight',
    kind: 'read',
    params: ['origin', 'destination', 'date'],
    run(db, a) {
      const date = a.date as string;
      const out: Record<string, unknown>[][] = [];
      for (const first of searchDirect(db, date, a.origin as string, null)) {
        first.date = date;
        const arr = first.scheduled_arrival_time_est as string;
        const date2 = arr.includes('+1') ? `2024-05-${Number(String(date).slice(-2)) + 1}` : date;
        for (const second of searchDirect(db, date2, first.destination as string, a.destination as string, arr)) {
          second.date = date2;
          out.push([first, second]);
        }
      }
      return out;
    },
  },
  {
    name: 'send_certificate',
    kind: 'write',
    params: ['user_id', 'amount'],
    run(db, a) {
      const u = user(db, a.user_id);
      const id = CERTIFICATE_IDS.find((c) => !Object.prototype.hasOwnProperty.call(u.payment_methods, c));
      if (!id) throw new ToolError('Too many certificates');
      const amount = a.amount as number;
      db.mut('users', u.user_id)!.payment_methods[id] = { source: 'certificate', id, amount: Number(amount) };
      return `Certificate ${id} added to user ${a.user_id} with amount ${typeof amount === 'number' && !Number.isInteger(amount) ? pyFloat(amount) : amount}.`;
    },
  },
  {
    name: 'transfer_to_human_agents',
    kind: 'generic',
    params: ['summary'],
    run: () => 'Transfer successful',
  },
  {
    name: 'update_reservation_baggages',
    kind: 'write',
    params: ['reservation_id', 'total_baggages', 'nonfree_baggages', 'payment_id'],
    run(db, a) {
      const r0 = reservation(db, a.reservation_id);
      const u = user(db, r0.user_id);
      const total = 50 * Math.max(0, (a.nonfree_baggages as number) - r0.nonfree_baggages);
      const { record } = paymentForUpdate(u, a.payment_id, total);
      const r = db.mut('reservations', r0.reservation_id)!;
      applyPaymentForUpdate(db, u.user_id, r, a.payment_id as string, total, record);
      r.total_baggages = a.total_baggages as number;
      r.nonfree_baggages = a.nonfree_baggages as number;
      return r;
    },
  },
  {
    name: 'update_reservation_flights',
    kind: 'write',
    params: ['reservation_id', 'cabin', 'flights', 'payment_id'],
    run(db, a) {
      const fl = flightInfos(a.flights);
      const r0 = reservation(db, a.reservation_id);
      const u = user(db, r0.user_id);
      const cabin = a.cabin as string;
      const pax = r0.passengers.length;
      let total = 0;
      const segments: ReservationFlight[] = [];
      for (const fi of fl) {
        const old = r0.flights.find((s) => s.flight_number === fi.flight_number && s.date === fi.date && cabin === r0.cabin);
        if (old) {
          total += old.price * pax;
          segments.push({ ...old });
          continue;
        }
        const f = flight(db, fi.flight_number);
        const d = flightDate(f, fi.date);
        if (d.status !== 'available') throw new ToolError(`Flight ${fi.flight_number} not available on date ${fi.date}`);
        if (!d.available_seats || !Object.prototype.hasOwnProperty.call(d.available_seats, cabin)) throw new ToolError(pyRepr(cabin));
        if (d.available_seats[cabin] < pax) throw new ToolError(`Not enough seats on flight ${fi.flight_number}`);
        const price = d.prices![cabin];
        segments.push({ flight_number: fi.flight_number, origin: f.origin, destination: f.destination, date: fi.date, price });
        total += price * pax;
      }
      total -= r0.flights.reduce((s, x) => s + x.price, 0) * pax;
      const { record } = paymentForUpdate(u, a.payment_id, total);
      const r = db.mut('reservations', r0.reservation_id)!;
      applyPaymentForUpdate(db, u.user_id, r, a.payment_id as string, total, record);
      r.flights = segments;
      r.cabin = cabin;
      return r;
    },
  },
  {
    name: 'update_reservation_passengers',
    kind: 'write',
    params: ['reservation_id', 'passengers'],
    run(db, a) {
      const pax = passengers(a.passengers);
      const r0 = reservation(db, a.reservation_id);
      if (pax.length !== r0.passengers.length) throw new ToolError('Number of passengers does not match');
      const r = db.mut('reservations', r0.reservation_id)!;
      r.passengers = pax;
      return r;
    },
  },
  {
    name: 'get_flight_status',
    kind: 'read',
    params: ['flight_number', 'date'],
    run: (db, a) => flightDate(flight(db, a.flight_number), a.date).status,
  },
];

export const TOOLS_BY_NAME = new Map(AIRLINE_TOOLS.map((t) => [t.name, t]));
