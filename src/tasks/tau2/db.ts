/**
 * The airline DB (tau2 layout: flights, users, reservations), loaded once per worker process and
 * frozen; each episode works on a copy-on-write view: a record is cloned into the view's overlay on
 * its first write, so 50 episodes in one worker share one 7 MB base. The canonical hash is tau2's
 * `sha256(json.dumps(db.model_dump(), sort_keys=True))`, byte for byte (checked against the
 * fixtures): model defaults filled in (reservation `status: null`, address `address2: null`) and
 * gift-card / certificate amounts printed as Python floats.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dataPath, DatasetError } from '../datasets';
import { pyDumps, type FloatTest } from './pyjson';

export interface FlightInfoRec { flight_number: string; date: string }
export interface Passenger { first_name: string; last_name: string; dob: string }
export interface ReservationFlight { flight_number: string; origin: string; destination: string; date: string; price: number }
export interface PaymentRecord { payment_id: string; amount: number }
export interface Reservation {
  reservation_id: string;
  user_id: string;
  origin: string;
  destination: string;
  flight_type: string;
  cabin: string;
  flights: ReservationFlight[];
  passengers: Passenger[];
  payment_history: PaymentRecord[];
  created_at: string;
  total_baggages: number;
  nonfree_baggages: number;
  insurance: string;
  status: string | null;
}
export type Cabin = 'business' | 'economy' | 'basic_economy';
export interface FlightDate {
  status: string;
  available_seats?: Record<string, number>;
  prices?: Record<string, number>;
  [k: string]: unknown;
}
export interface Flight {
  flight_number: string;
  origin: string;
  destination: string;
  scheduled_departure_time_est: string;
  scheduled_arrival_time_est: string;
  dates: Record<string, FlightDate>;
}
export interface PaymentMethod { source: 'credit_card' | 'gift_card' | 'certificate'; id: string; amount?: number; brand?: string; last_four?: string }
export interface User {
  user_id: string;
  name: { first_name: string; last_name: string };
  address: Record<string, string | null>;
  email: string;
  dob: string;
  payment_methods: Record<string, PaymentMethod>;
  saved_passengers: Passenger[];
  membership: string;
  reservations: string[];
}
export interface AirlineDbData {
  flights: Record<string, Flight>;
  users: Record<string, User>;
  reservations: Record<string, Reservation>;
}
export type Table = keyof AirlineDbData;
type Row<T extends Table> = AirlineDbData[T][string];

/** Gift-card and certificate `amount`s are floats in tau2's data model; every other number is an int. */
export const airlineIsFloat: FloatTest = (path, parent) =>
  path[path.length - 1] === 'amount' && path.includes('payment_methods') && !!parent && (parent as PaymentMethod).source !== 'credit_card';

/** tau2's model field order (tool results are dumped in it; the hash sorts keys anyway) */
const ORDER = {
  reservation: ['reservation_id', 'user_id', 'origin', 'destination', 'flight_type', 'cabin', 'flights', 'passengers', 'payment_history', 'created_at', 'total_baggages', 'nonfree_baggages', 'insurance', 'status'],
  segment: ['flight_number', 'origin', 'destination', 'date', 'price'],
  passenger: ['first_name', 'last_name', 'dob'],
  payment: ['payment_id', 'amount'],
  user: ['user_id', 'name', 'address', 'email', 'dob', 'payment_methods', 'saved_passengers', 'membership', 'reservations'],
  name: ['first_name', 'last_name'],
  address: ['address1', 'address2', 'city', 'country', 'state', 'zip'],
  card: ['source', 'id', 'brand', 'last_four'],
  balance: ['source', 'id', 'amount'],
};

/** the keys of `order` first (missing ones as the model default null), then any others */
function ordered(o: Record<string, unknown>, order: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of order) out[k] = k in o ? o[k] : null;
  for (const k of Object.keys(o)) if (!(k in out)) out[k] = o[k];
  return out;
}

/** Fill the model defaults pydantic adds on load and use its field order (so dumps match model_dump()). */
function normaliseRecord(table: Table, rec: Record<string, unknown>): Record<string, unknown> {
  if (table === 'reservations') {
    const r = ordered(rec, ORDER.reservation);
    r.flights = (r.flights as Record<string, unknown>[]).map((f) => ordered(f, ORDER.segment));
    r.passengers = (r.passengers as Record<string, unknown>[]).map((p) => ordered(p, ORDER.passenger));
    r.payment_history = (r.payment_history as Record<string, unknown>[]).map((p) => ordered(p, ORDER.payment));
    return r;
  }
  if (table === 'users') {
    const u = ordered(rec, ORDER.user);
    u.name = ordered(u.name as Record<string, unknown>, ORDER.name);
    u.address = ordered(u.address as Record<string, unknown>, ORDER.address);
    u.payment_methods = Object.fromEntries(
      Object.entries(u.payment_methods as Record<string, Record<string, unknown>>).map(([k, m]) => [k, ordered(m, m.source === 'credit_card' ? ORDER.card : ORDER.balance)]),
    );
    u.saved_passengers = (u.saved_passengers as Record<string, unknown>[]).map((p) => ordered(p, ORDER.passenger));
    return u;
  }
  return rec;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object' && !Object.isFrozen(o)) {
    Object.freeze(o);
    for (const v of Object.values(o as object)) deepFreeze(v);
  }
  return o;
}

export class BaseDb {
  readonly data: Readonly<AirlineDbData>;
  readonly keys: Record<Table, readonly string[]>;
  /** canonical (sorted-key) JSON of each base record, computed lazily */
  private canonCache = new Map<string, string>();
  private hashCache: string | null = null;
  constructor(raw: AirlineDbData) {
    const data = {} as AirlineDbData;
    for (const t of ['flights', 'users', 'reservations'] as Table[]) {
      const src = raw[t];
      if (!src || typeof src !== 'object') throw new DatasetError(`airline db: missing table "${t}"`);
      (data as unknown as Record<string, unknown>)[t] = Object.fromEntries(Object.entries(src).map(([k, v]) => [k, normaliseRecord(t, v as unknown as Record<string, unknown>)]));
    }
    this.data = deepFreeze(data);
    this.keys = { flights: Object.keys(data.flights), users: Object.keys(data.users), reservations: Object.keys(data.reservations) };
  }
  canonOf(table: Table, key: string): string {
    const ck = `${table}\u0000${key}`;
    let s = this.canonCache.get(ck);
    if (s === undefined) {
      s = pyDumps(this.data[table][key], { sortKeys: true, isFloat: (p, parent) => airlineIsFloat([table, key, ...p], parent) });
      this.canonCache.set(ck, s);
    }
    return s;
  }
  hash(): string {
    this.hashCache ??= new DbView(this).hash();
    return this.hashCache;
  }
}

let loaded: BaseDb | null = null;
let loadedFrom: string | null = null;

/** The shared base DB of this worker process (db.json read once). */
export function loadAirlineDb(file = dataPath('tau2_airline', 'db.json')): BaseDb {
  if (loaded && loadedFrom === file) return loaded;
  let raw: AirlineDbData;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as AirlineDbData;
  } catch (e) {
    // a missing or malformed DB file: no retry reads it (DatasetError is non-retryable)
    throw new DatasetError(`tau2-airline: cannot read the airline DB at ${file} (${(e as Error).message}); it ships in data/tau2_airline/db.json, or set GEPA_RL_DATA_DIR`);
  }
  loaded = new BaseDb(raw);
  loadedFrom = file;
  return loaded;
}

function clone<T>(v: T): T {
  return structuredClone(v) as T;
}

/** One episode's copy-on-write view of the base DB. */
export class DbView {
  private overlay: Record<Table, Map<string, unknown>> = { flights: new Map(), users: new Map(), reservations: new Map() };
  private added: Record<Table, string[]> = { flights: [], users: [], reservations: [] };
  constructor(readonly base: BaseDb) {}

  get<T extends Table>(table: T, key: string): Row<T> | undefined {
    const o = this.overlay[table];
    if (o.has(key)) return o.get(key) as Row<T>;
    return Object.prototype.hasOwnProperty.call(this.base.data[table], key) ? (this.base.data[table][key] as Row<T>) : undefined;
  }
  has(table: Table, key: string): boolean {
    return this.get(table, key) !== undefined;
  }
  /** the record, cloned into this view on first write */
  mut<T extends Table>(table: T, key: string): Row<T> | undefined {
    const o = this.overlay[table];
    if (o.has(key)) return o.get(key) as Row<T>;
    const b = this.get(table, key);
    if (b === undefined) return undefined;
    const c = clone(b);
    o.set(key, c);
    return c;
  }
  insert<T extends Table>(table: T, key: string, rec: Row<T>): void {
    if (!this.has(table, key)) this.added[table].push(key);
    this.overlay[table].set(key, rec);
  }
  /** keys in DB insertion order (tau2 iterates dicts in insertion order; never sort) */
  keys(table: Table): string[] {
    return [...this.base.keys[table], ...this.added[table]];
  }
  /** tables and keys written in this view */
  touched(): { table: Table; key: string }[] {
    return (['flights', 'users', 'reservations'] as Table[]).flatMap((t) => [...this.overlay[t].keys()].map((key) => ({ table: t, key })));
  }
  /** the whole DB as a plain object (for diffs); base records shared, not copied */
  snapshot(): AirlineDbData {
    const o = {} as Record<Table, Record<string, unknown>>;
    for (const t of ['flights', 'users', 'reservations'] as Table[]) o[t] = Object.fromEntries(this.keys(t).map((k) => [k, this.get(t, k)]));
    return o as unknown as AirlineDbData;
  }
  private canon(table: Table, key: string): string {
    if (!this.overlay[table].has(key)) return this.base.canonOf(table, key);
    return pyDumps(this.overlay[table].get(key), { sortKeys: true, isFloat: (p, parent) => airlineIsFloat([table, key, ...p], parent) });
  }
  /** tau2's DB hash: sha256 of json.dumps(db.model_dump(), sort_keys=True) */
  hash(): string {
    const h = createHash('sha256');
    h.update('{');
    const tables = (['flights', 'reservations', 'users'] as Table[]); // sorted
    tables.forEach((t, ti) => {
      if (ti) h.update(', ');
      h.update(`"${t}": {`);
      const keys = this.keys(t).sort();
      keys.forEach((k, i) => {
        h.update(i ? `, ${JSON.stringify(k)}: ` : `${JSON.stringify(k)}: `);
        h.update(this.canon(t, k));
      });
      h.update('}');
    });
    h.update('}');
    return h.digest('hex');
  }
}
