import type { InjectOptions, LightMyRequestResponse } from 'fastify';

/** The smallest valid body of each Planhat model, given an existing company's id. */
export function minimalBodies(companyId: string, tag: string): Record<string, unknown> {
  return {
    companies: { name: `Company ${tag}`, externalId: `co-${tag}` },
    endusers: { email: `person-${tag}@example.com`, companyId, externalId: `eu-${tag}` },
    conversations: { companyId, type: 'note', subject: `Note ${tag}` },
    licenses: { _currency: 'USD', companyId, fromDate: '2024-01-01', mrr: 100 },
    invoices: { cId: companyId, currency: 'USD' },
    issues: { title: `Issue ${tag}`, sourceId: `is-${tag}`, archived: false },
    tasks: { mainType: 'task', companyId },
    opportunities: { companyId, title: `Deal ${tag}` },
    projects: { name: `Project ${tag}`, companyId },
    assets: { name: `Asset ${tag}`, companyId },
    campaigns: { name: `Campaign ${tag}`, companyId },
    churn: { companyId, value: 10 },
    nps: { email: `person-${tag}@example.com`, score: 9, cId: companyId },
    objectives: { name: `Objective ${tag}`, companyId },
    sales: { _currency: 'USD', companyId, salesDate: '2024-01-01', value: 5 },
    workspaces: { name: `Workspace ${tag}`, companyId },
    customfields: { name: `field${tag}`, type: 'number', parent: 'company', isHidden: false },
  };
}

type Inject = (options: InjectOptions) => Promise<LightMyRequestResponse>;

/**
 * Creates one record of every model through the API and returns their ids by path; the
 * ticket goes through bulk upsert, its only way in.
 */
export async function seedEveryModel(inject: Inject, tag: string): Promise<Record<string, string>> {
  const created = await inject({
    method: 'POST',
    url: '/companies',
    payload: { name: `Parent ${tag}` },
  });
  if (created.statusCode !== 200) throw new Error(`companies: ${created.body}`);
  const companyId = created.json<{ _id: string }>()._id;
  const ids: Record<string, string> = {};
  for (const [path, body] of Object.entries(minimalBodies(companyId, tag))) {
    const response = await inject({
      method: 'POST',
      url: `/${path}`,
      payload: body as Record<string, unknown>,
    });
    if (response.statusCode !== 200) throw new Error(`${path}: ${response.body}`);
    ids[path] = response.json<{ _id: string }>()._id;
  }
  const tickets = await inject({
    method: 'PUT',
    url: '/tickets',
    payload: [{ companyId, sourceId: `tk-${tag}`, email: `person-${tag}@example.com` }],
  });
  if (tickets.statusCode !== 200) throw new Error(`tickets: ${tickets.body}`);
  const report = tickets.json<{ upsertedIds?: string[]; insertsKeys?: Array<{ _id: string }> }>();
  const ticketId = report.upsertedIds?.[0] ?? report.insertsKeys?.[0]?._id;
  if (ticketId === undefined) throw new Error(`tickets: no id in ${tickets.body}`);
  ids.tickets = ticketId;
  ids.companies = ids.companies ?? companyId;
  return ids;
}
