import { Fragment, useEffect, useId, useRef, useState, type FormEvent } from 'react';
import {
  ACTIONS,
  ACTION_LABELS,
  FIELD_ACCESS,
  INTERNAL_MODELS,
  MODEL_NOTES,
  RECORD_MODELS,
  accessAllowed,
  can,
  withActions,
  withFieldRule,
  type Action,
  type FieldAccess,
  type Model,
  type PermissionSet,
} from '../permissions';

export interface PermissionGridProps {
  value: PermissionSet;
  /** Absent for a read-only grid. */
  onChange?: (next: PermissionSet) => void;
  /** The permissions of the member editing: nobody may grant what they do not hold. */
  holder: PermissionSet;
  /** Names the grid: "Permissions of Billing sync". */
  label: string;
}

const GROUPS: { title: string; models: readonly Model[] }[] = [
  { title: 'Records', models: RECORD_MODELS },
  { title: 'App Center', models: INTERNAL_MODELS },
];
const COLUMNS = ACTIONS.length + 2;

/**
 * Models by the five actions. A cell the editing member cannot grant is disabled; one that
 * is already granted stays clickable so it can be taken away.
 */
export function PermissionGrid({ value, onChange, holder, label }: PermissionGridProps) {
  const [openFields, setOpenFields] = useState<Model | undefined>(undefined);
  const readOnly = onChange === undefined;
  const allModels = [...RECORD_MODELS, ...INTERNAL_MODELS];

  const grantable = (model: Model, action: Action) => can(holder, model, action);
  const editable = (model: Model, action: Action) =>
    !readOnly && (grantable(model, action) || can(value, model, action));

  const setCells = (cells: [Model, Action][], on: boolean) => {
    if (onChange === undefined) return;
    let next = value;
    for (const [model, action] of cells) {
      if (on && !grantable(model, action)) continue;
      next = withActions(next, model, { [action]: on }, holder);
    }
    onChange(next);
  };

  const toggleState = (cells: [Model, Action][]) => {
    const usable = cells.filter(([model, action]) => editable(model, action));
    const granted = usable.filter(([model, action]) => can(value, model, action));
    const grantableCells = usable.filter(([model, action]) => grantable(model, action));
    const full = grantableCells.length > 0 && grantableCells.every(([m, a]) => can(value, m, a));
    return {
      checked: full,
      mixed: !full && granted.length > 0,
      disabled: usable.length === 0,
      // A full toggle empties; anything else fills what this member may grant.
      flip: () => setCells(full ? usable : grantableCells, !full),
    };
  };

  const someUnavailable =
    !readOnly && allModels.some((model) => ACTIONS.some((action) => !grantable(model, action)));

  return (
    <>
      {someUnavailable ? (
        <p className="grid-legend">
          <span className="legend-swatch unavailable-swatch" aria-hidden="true" /> Hatched cells are
          permissions your own role lacks, so you cannot grant them.
        </p>
      ) : null}
      <div className="grid-scroll">
        <table className="permission-grid" aria-label={label}>
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" className="cell-center">
                All
              </th>
              {ACTIONS.map((action) => (
                <th scope="col" key={action} className="cell-center">
                  {ACTION_LABELS[action]}
                </th>
              ))}
            </tr>
            <tr className="column-toggles">
              <th scope="row">Every model</th>
              <td />
              {ACTIONS.map((action) => {
                const state = toggleState(allModels.map((model) => [model, action]));
                return (
                  <td key={action} className="cell-center">
                    <TriStateCheckbox
                      label={`${ACTION_LABELS[action]} on every model`}
                      {...state}
                    />
                  </td>
                );
              })}
            </tr>
          </thead>
          <tbody>
            {GROUPS.map((group) => (
              <Fragment key={group.title}>
                <tr className="group-row">
                  <th colSpan={COLUMNS} scope="rowgroup">
                    {group.title}
                  </th>
                </tr>
                {group.models.map((model) => {
                  const rowState = toggleState(ACTIONS.map((action) => [model, action]));
                  const rules = value.fields[model] ?? {};
                  const ruleCount = Object.keys(rules).length;
                  const open = openFields === model;
                  return (
                    <Fragment key={model}>
                      <tr data-model={model}>
                        <th scope="row" className="model-name">
                          {model}
                          <button
                            type="button"
                            className="link-button field-rules-toggle"
                            aria-expanded={open}
                            aria-label={`Field rules for ${model}`}
                            onClick={() => setOpenFields(open ? undefined : model)}
                          >
                            {ruleCount === 0
                              ? 'All fields'
                              : `${ruleCount} field rule${plural(ruleCount)}`}
                          </button>
                          {MODEL_NOTES[model] === undefined ? null : (
                            <span className="model-note">{MODEL_NOTES[model]}</span>
                          )}
                        </th>
                        <td className="cell-center">
                          <TriStateCheckbox label={`Every action on ${model}`} {...rowState} />
                        </td>
                        {ACTIONS.map((action) => {
                          const unavailable = !grantable(model, action);
                          return (
                            <td
                              key={action}
                              className={unavailable ? 'cell-center unavailable' : 'cell-center'}
                              title={
                                unavailable
                                  ? `Your role lacks ${model}.${action}, so you cannot grant it`
                                  : undefined
                              }
                            >
                              <input
                                type="checkbox"
                                aria-label={`${ACTION_LABELS[action]} ${model}`}
                                checked={can(value, model, action)}
                                disabled={!editable(model, action)}
                                onChange={(event) =>
                                  setCells([[model, action]], event.target.checked)
                                }
                              />
                              {unavailable ? (
                                <span className="visually-hidden">unavailable</span>
                              ) : null}
                            </td>
                          );
                        })}
                      </tr>
                      {open ? (
                        <tr className="field-rules-row">
                          <td colSpan={COLUMNS}>
                            <FieldRules
                              model={model}
                              rules={rules}
                              holderRules={holder.fields[model] ?? {}}
                              {...(onChange === undefined
                                ? {}
                                : {
                                    onChange: (field: string, access: FieldAccess | undefined) =>
                                      onChange(withFieldRule(value, model, field, access)),
                                  })}
                            />
                          </td>
                        </tr>
                      ) : null}
                    </Fragment>
                  );
                })}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

interface TriStateProps {
  label: string;
  checked: boolean;
  mixed: boolean;
  disabled: boolean;
  flip(): void;
}

function TriStateCheckbox({ label, checked, mixed, disabled, flip }: TriStateProps) {
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (ref.current !== null) ref.current.indeterminate = mixed;
  }, [mixed]);
  return (
    <input
      ref={ref}
      type="checkbox"
      className="toggle-all"
      aria-label={label}
      checked={checked}
      disabled={disabled}
      onChange={flip}
    />
  );
}

interface FieldRulesProps {
  model: Model;
  rules: Record<string, FieldAccess>;
  holderRules: Record<string, FieldAccess>;
  onChange?: (field: string, access: FieldAccess | undefined) => void;
}

const ACCESS_LABELS: Record<FieldAccess, string> = {
  hidden: 'Hidden',
  read: 'Read only',
  write: 'Read and write',
};

/** Per-field limits on one model. A field without a rule can be read and written. */
function FieldRules({ model, rules, holderRules, onChange }: FieldRulesProps) {
  const [field, setField] = useState('');
  const [access, setAccess] = useState<FieldAccess>('read');
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const entries = Object.entries(rules).sort(([a], [b]) => a.localeCompare(b));
  const holderAccess = (name: string): FieldAccess => holderRules[name] ?? 'write';

  const add = (event: FormEvent) => {
    event.preventDefault();
    const name = field.trim();
    if (name === '' || onChange === undefined) return;
    onChange(name, access);
    setField('');
    // The Add button disables itself once the input is empty; keep focus in the form.
    input.current?.focus();
  };

  return (
    <div className="field-rules">
      <p className="muted">
        Fields of {model} without a rule can be read and written. Name a field as the API does, such
        as <code>phone</code> or <code>custom.Score</code>.
      </p>
      {entries.length === 0 ? null : (
        <ul className="field-rule-list">
          {entries.map(([name, current]) => (
            <li key={name}>
              <code>{name}</code>
              <select
                aria-label={`Access to ${model} field ${name}`}
                value={current}
                disabled={onChange === undefined}
                onChange={(event) => onChange?.(name, event.target.value as FieldAccess)}
              >
                {FIELD_ACCESS.map((option) => (
                  <option
                    key={option}
                    value={option}
                    disabled={!accessAllowed(holderAccess(name), option)}
                  >
                    {ACCESS_LABELS[option]}
                  </option>
                ))}
              </select>
              {onChange === undefined ? null : (
                <button
                  type="button"
                  className="link-button"
                  aria-label={`Remove the rule on ${name}`}
                  disabled={holderAccess(name) !== 'write'}
                  onClick={() => onChange(name, undefined)}
                >
                  Remove
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {onChange === undefined ? null : (
        <form className="field-rule-add" onSubmit={add}>
          <label htmlFor={inputId}>Field</label>
          <input
            ref={input}
            id={inputId}
            value={field}
            maxLength={200}
            placeholder="phone"
            onChange={(event) => setField(event.target.value)}
          />
          <select
            aria-label="Access to the new field"
            value={access}
            onChange={(event) => setAccess(event.target.value as FieldAccess)}
          >
            {FIELD_ACCESS.map((option) => (
              <option
                key={option}
                value={option}
                disabled={!accessAllowed(holderAccess(field.trim()), option)}
              >
                {ACCESS_LABELS[option]}
              </option>
            ))}
          </select>
          <button type="submit" className="button" disabled={field.trim() === ''}>
            Add rule
          </button>
        </form>
      )}
    </div>
  );
}

function plural(count: number): string {
  return count === 1 ? '' : 's';
}
