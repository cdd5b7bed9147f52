import { sql, type Kysely } from 'kysely';

/**
 * Workspace records of every Planhat model, one JSON document per row. The keys that
 * lookups and upserts match on are copied into indexed columns: `external_id`,
 * `source_id`, `company_id` (the one company a child record belongs to) and `email`
 * (trimmed and lower-cased, for matching only; the document keeps it as sent).
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('records')
    .addColumn('workspace_id', 'text', (col) => col.notNull().references('workspaces.id'))
    .addColumn('model', 'text', (col) => col.notNull())
    .addColumn('id', 'text', (col) => col.notNull())
    .addColumn('external_id', 'text')
    .addColumn('source_id', 'text')
    .addColumn('company_id', 'text')
    .addColumn('email', 'text')
    .addColumn('doc', 'text', (col) => col.notNull())
    .addColumn('created_at', 'text', (col) => col.notNull())
    .addColumn('updated_at', 'text', (col) => col.notNull())
    .addColumn('version', 'integer', (col) => col.notNull())
    .addPrimaryKeyConstraint('records_pk', ['workspace_id', 'model', 'id'])
    .execute();

  // sourceId is unique per model. externalId is unique per company for child records
  // and per model otherwise (company_id is null there); external_id leads so that the
  // index also serves lookups that do not know the company.
  await sql`
    create unique index records_source_id_unique on records (workspace_id, model, source_id)
    where source_id is not null
  `.execute(db);
  await sql`
    create unique index records_external_id_unique
    on records (workspace_id, model, external_id, coalesce(company_id, ''))
    where external_id is not null
  `.execute(db);
  await sql`
    create index records_email on records (workspace_id, model, email)
    where email is not null
  `.execute(db);
  // Serves both "children of this company" across models and per-model companyId filters.
  await sql`
    create index records_company on records (workspace_id, company_id, model)
    where company_id is not null
  `.execute(db);

  // The email domains of each company, lower-cased, so that an end user created without
  // a companyId finds its company by one indexed lookup.
  await db.schema
    .createTable('record_domains')
    .addColumn('workspace_id', 'text', (col) => col.notNull().references('workspaces.id'))
    .addColumn('domain', 'text', (col) => col.notNull())
    .addColumn('company_id', 'text', (col) => col.notNull())
    .addPrimaryKeyConstraint('record_domains_pk', ['workspace_id', 'domain', 'company_id'])
    .execute();
  await db.schema
    .createIndex('record_domains_company')
    .on('record_domains')
    .columns(['workspace_id', 'company_id'])
    .execute();
}
