import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { getModel, type ModelDefinition } from '../records/model-catalogue.js';
import { openRecordStorage, type RecordStorage } from '../records/record.repository.js';
import {
  findByKey,
  flushAudits,
  insertRecord,
  loadContext,
  prepareCreate,
  prepareUpdate,
  updateRecord,
} from '../records/record-writes.js';
import { AppError } from '../shared/errors.js';
import type { ActivityRow, Touch } from './analytics.repository.js';
import type { LinkedRecord, LinkedRecords } from './linked-records.repository.js';

/** Who an activity is about, as the client named them. */
export interface Person {
  email?: string;
  externalId?: string;
  companyExternalId?: string;
  name?: string;
  firstName?: string;
  lastName?: string;
}

/** End users created from tracking data are attributed to this actor. */
export const TRACKING_ACTOR: Actor = { type: 'system', id: 'analytics', name: 'User tracking' };

// The API refuses an end user without an email, but tracking, as in Planhat, knows many
// users by their externalId alone.
const TRACKED_END_USER: ModelDefinition = { ...getModel('EndUser'), required: [] };

/** The write context of end users that tracking creates or renames, as its own actor. */
function trackingContext(workspaceId: string) {
  return loadContext({
    workspaceId,
    actor: TRACKING_ACTOR,
    model: TRACKED_END_USER,
    rules: undefined,
  });
}

// With neither, an activity has no one to link to and no company to create anyone in.
const LINKED_MODELS = ['EndUser', 'Company'];

interface Group {
  person: Person;
  rows: ActivityRow[];
  latest: number;
}

/**
 * Matches batches of activities to the end users and companies they name, the way
 * Planhat's tracking does: an end user is found by externalId, else by email; an unknown
 * one whose companyExternalId names a company is created in it. Fills in each row's
 * end user and company, and returns the lastActive times to set.
 */
export class ActivityLinker {
  private readonly storage: RecordStorage;

  constructor(
    database: Database,
    private readonly records: LinkedRecords,
  ) {
    this.storage = openRecordStorage(database);
  }

  /** `people[i]` is who `rows[i]` is about; rows without a person stay unlinked. */
  async link(workspaceId: string, people: Person[], rows: ActivityRow[]): Promise<Touch[]> {
    if (!(await this.records.hasAny(workspaceId, LINKED_MODELS))) return [];
    const groups = groupByPerson(people, rows);
    if (groups.size === 0) return [];

    const known = await this.find(workspaceId, [...groups.values()]);
    const created = await this.create(workspaceId, [...groups.values()], known);

    const endUsers = new Map<string, number>();
    const companies = new Map<string, number>();
    for (const group of groups.values()) {
      const endUser = known.endUserOf(group.person) ?? created.get(personKey(group.person));
      if (endUser === undefined) continue;
      for (const row of group.rows) {
        row.endUserId = endUser.id;
        row.companyId = endUser.companyId;
      }
      latestOf(endUsers, endUser.id, group.latest);
      if (endUser.companyId !== null) latestOf(companies, endUser.companyId, group.latest);
    }

    return [...touches('Company', companies), ...touches('EndUser', endUsers)];
  }

  /**
   * Creates the end users that `identify` calls name, on the same rules as activities,
   * and gives the ones that exist the names the calls carry; the last call wins.
   */
  async identify(workspaceId: string, people: Person[]): Promise<void> {
    if (!(await this.records.hasAny(workspaceId, LINKED_MODELS))) return;
    const groups = latestFirst(groupByPerson(people, []), people);
    if (groups.length === 0) return;
    const known = await this.find(workspaceId, groups);
    await this.create(workspaceId, groups, known);
    await this.rename(workspaceId, groups, known);
  }

  private async rename(workspaceId: string, groups: Group[], known: Known): Promise<void> {
    const wanted = new Map<string, Record<string, string>>();
    for (const { person } of groups) {
      const endUser = known.endUserOf(person);
      const traits = nameTraits(person);
      if (endUser === undefined || Object.keys(traits).length === 0) continue;
      wanted.set(endUser.id, { ...wanted.get(endUser.id), ...traits });
    }
    if (wanted.size === 0) return;

    await this.storage.write(function* () {
      const ctx = yield* trackingContext(workspaceId);
      for (const [id, traits] of wanted) {
        try {
          const existing = yield* findByKey(ctx, { kind: 'id', value: id });
          const prepared = yield* prepareUpdate(ctx, existing, traits);
          if (prepared.kind === 'changed') yield* updateRecord(ctx, existing, prepared);
        } catch (error) {
          // Deleted meanwhile, or a value the records API refuses: the call is dropped.
          if (!(error instanceof AppError)) throw error;
        }
      }
      yield* flushAudits(ctx);
    });
  }

  /**
   * An end user found by externalId is never looked up by email, so the email lookup,
   * made second, takes only the people that lookup left unnamed: once the end users
   * exist, that is none.
   */
  private async find(workspaceId: string, groups: Group[]): Promise<Known> {
    const externalIds = new Set<string>();
    const companyIds = new Set<string>();
    for (const { person } of groups) {
      if (person.externalId !== undefined) externalIds.add(person.externalId);
      if (person.companyExternalId !== undefined) companyIds.add(person.companyExternalId);
    }
    const [byExternalId, companies] = await Promise.all([
      this.records.find(workspaceId, 'EndUser', 'external_id', [...externalIds]),
      this.records.find(workspaceId, 'Company', 'external_id', [...companyIds]),
    ]);
    const known = new Known(byExternalId, companies);

    const emails = new Set<string>();
    for (const { person } of groups) {
      if (person.email !== undefined && known.byEmailOnly(person))
        emails.add(emailKey(person.email));
    }
    known.addByEmail(await this.records.find(workspaceId, 'EndUser', 'email', [...emails]));
    return known;
  }

  /** End users for the unknown people whose company is known, by person key. */
  private async create(
    workspaceId: string,
    groups: Group[],
    known: Known,
  ): Promise<Map<string, LinkedRecord>> {
    const wanted = groups.flatMap(({ person }) => {
      if (known.endUserOf(person) !== undefined) return [];
      const company = known.companyOf(person);
      return company === undefined ? [] : [{ person, company }];
    });
    if (wanted.length === 0) return new Map();

    return this.storage.write(function* () {
      const ctx = yield* trackingContext(workspaceId);
      const created = new Map<string, LinkedRecord>();
      for (const { person, company } of wanted) {
        try {
          const prepared = yield* prepareCreate(ctx, endUserBody(person, company));
          yield* insertRecord(ctx, prepared);
          const { id, externalId, email, companyId } = prepared.row;
          created.set(personKey(person), { id, externalId, email, companyId });
        } catch (error) {
          // A value the records API refuses (or a user created concurrently): the
          // activities are stored all the same, without the link.
          if (!(error instanceof AppError)) throw error;
        }
      }
      yield* flushAudits(ctx);
      return created;
    });
  }
}

/** What the lookups found, and which record each person is. */
class Known {
  private readonly byExternalId = new Map<string, LinkedRecord[]>();
  private readonly byEmail = new Map<string, LinkedRecord[]>();
  private readonly companies = new Map<string, LinkedRecord>();

  constructor(byExternalId: LinkedRecord[], companies: LinkedRecord[]) {
    for (const user of byExternalId) push(this.byExternalId, user.externalId ?? '', user);
    for (const company of companies) this.companies.set(company.externalId ?? '', company);
  }

  addByEmail(byEmail: LinkedRecord[]): void {
    for (const user of byEmail) push(this.byEmail, user.email ?? '', user);
  }

  /** Whether endUserOf would look the person up by email: no end user has their externalId. */
  byEmailOnly(person: Person): boolean {
    return person.externalId === undefined || !this.byExternalId.has(person.externalId);
  }

  companyOf(person: Person): LinkedRecord | undefined {
    const externalId = person.companyExternalId;
    return externalId === undefined ? undefined : this.companies.get(externalId);
  }

  /**
   * The one end user the person names. An externalId is unique within a company, so
   * one held in several companies is settled by the activity's company, if any.
   */
  endUserOf(person: Person): LinkedRecord | undefined {
    if (!this.byEmailOnly(person)) {
      const matches = this.byExternalId.get(person.externalId ?? '') ?? [];
      if (matches.length === 1) return matches[0];
      const company = this.companyOf(person);
      return matches.find((user) => user.companyId === company?.id);
    }
    if (person.email === undefined) return undefined;
    const matches = this.byEmail.get(emailKey(person.email)) ?? [];
    return matches.length === 1 ? matches[0] : undefined;
  }
}

function groupByPerson(people: Person[], rows: ActivityRow[]): Map<string, Group> {
  const groups = new Map<string, Group>();
  for (const [index, person] of people.entries()) {
    const key = personKey(person);
    if (key === '') continue;
    const row = rows[index];
    let group = groups.get(key);
    if (group === undefined) {
      group = { person, rows: [], latest: 0 };
      groups.set(key, group);
    }
    if (row !== undefined) {
      group.rows.push(row);
      group.latest = Math.max(group.latest, row.time);
    }
  }
  return groups;
}

// The same person may be named by externalId in one item and by email in the next; they
// group apart but resolve to the same record, and lastActive takes the later time.
function personKey(person: Person): string {
  if (person.externalId !== undefined) {
    return `x:${person.companyExternalId ?? ''}:${person.externalId}`;
  }
  return person.email === undefined ? '' : `e:${emailKey(person.email)}`;
}

function emailKey(email: string): string {
  return email.trim().toLowerCase();
}

function endUserBody(person: Person, company: LinkedRecord): Record<string, string> {
  const body: Record<string, string> = { companyId: company.id };
  if (person.externalId !== undefined) body.externalId = person.externalId;
  if (person.email !== undefined) body.email = person.email;
  return { ...body, ...nameTraits(person) };
}

/** The names a person carries, as end-user fields; the full name only when sent. */
function nameTraits(person: Person): Record<string, string> {
  const traits: Record<string, string> = {};
  if (person.firstName !== undefined) traits.firstName = person.firstName;
  if (person.lastName !== undefined) traits.lastName = person.lastName;
  if (person.name !== undefined) traits.name = person.name;
  return traits;
}

// groupByPerson keeps each person's first item; for identify calls the last one counts.
function latestFirst(groups: Map<string, Group>, people: Person[]): Group[] {
  const latest = new Map<string, Person>();
  for (const person of people) latest.set(personKey(person), person);
  return [...groups].map(([key, group]) => ({ ...group, person: latest.get(key) ?? group.person }));
}

function latestOf(times: Map<string, number>, id: string, time: number): void {
  times.set(id, Math.max(times.get(id) ?? 0, time));
}

function touches(model: Touch['model'], times: Map<string, number>): Touch[] {
  return [...times].map(([id, lastActive]) => ({ model, id, lastActive }));
}

function push<T>(map: Map<string, T[]>, key: string, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
