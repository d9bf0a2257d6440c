import { useEffect, useState, type FormEvent } from 'react';
import { useAccess, useApi } from '../api/session';
import { useRefresh, useSecurityGroups } from '../api/queries';
import type { SecurityGroup, SecurityGroupRule } from '../api/types';
import { errorMessage } from '../api/errors';
import { Button, Select, TextInput } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { Empty, ErrorText, Loading } from '../ui/feedback';
import { useSubmit } from '../ui/form';
import { ruleSentence } from '../lib/rules';
import { useTitle } from '../router';

interface RuleDraft {
  direction: 'ingress' | 'egress';
  protocol: string;
  ports: string;
  remote: 'cidr' | 'group';
  cidr: string;
  group: string;
  ethertype: 'IPv4' | 'IPv6';
}

const emptyRule = (): RuleDraft => ({ direction: 'ingress', protocol: 'tcp', ports: '22', remote: 'cidr', cidr: '0.0.0.0/0', group: '', ethertype: 'IPv4' });

/** The rule body for Neutron; port text "22" or "8000-8080" (ICMP: "type" or "type/code"). */
function ruleBody(groupId: string, d: RuleDraft): Omit<SecurityGroupRule, 'id'> {
  const [a, b] = d.ports.split(/[-/:]/).map((x) => x.trim());
  const num = (x: string | undefined) => (x === undefined || x === '' ? null : Number(x));
  const ported = d.protocol === 'tcp' || d.protocol === 'udp' || d.protocol === 'icmp';
  return {
    security_group_id: groupId,
    direction: d.direction,
    ethertype: d.ethertype,
    protocol: d.protocol === 'any' ? null : d.protocol,
    port_range_min: ported ? num(a) : null,
    port_range_max: ported ? (d.protocol === 'icmp' ? num(b) : num(b ?? a)) : null,
    remote_ip_prefix: d.remote === 'cidr' ? d.cidr.trim() || null : null,
    remote_group_id: d.remote === 'group' ? d.group || null : null,
  };
}

function AddRuleDialog({ group, groups, onClose }: { group: SecurityGroup | undefined; groups: SecurityGroup[]; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const [d, setD] = useState(emptyRule());
  const s = useSubmit({ ports: ['port', 'icmp type', 'icmp code'], cidr: ['prefix', 'cidr', 'ip address', 'ethertype'], protocol: ['protocol'] });
  useEffect(() => {
    if (!d.group && groups[0]) setD((x) => ({ ...x, group: group?.id ?? groups[0]?.id ?? '' }));
  }, [d.group, groups, group]);
  if (!group) return null;
  const body = ruleBody(group.id, d);
  const name = (id: string) => groups.find((g) => g.id === id)?.name ?? id;
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const rule: Record<string, unknown> = Object.fromEntries(Object.entries(body).filter(([, v]) => v !== null));
    void s
      .run(async () => {
        await api.post('network', '/security-group-rules', { security_group_rule: rule });
        await refresh('security-groups');
      })
      .then((ok) => {
        if (ok) {
          setD(emptyRule());
          onClose();
        }
      });
  };
  return (
    <Dialog title={`Add a rule to ${group.name}`} open onClose={onClose}>
      <form onSubmit={submit}>
        <Select
          label="Direction"
          value={d.direction}
          onChange={(e) => setD({ ...d, direction: e.target.value === 'egress' ? 'egress' : 'ingress' })}
          options={[
            { value: 'ingress', label: 'Ingress (coming in)' },
            { value: 'egress', label: 'Egress (going out)' },
          ]}
        />
        <Select
          label="Protocol"
          value={d.protocol}
          onChange={(e) => setD({ ...d, protocol: e.target.value, ports: e.target.value === 'tcp' ? '22' : '' })}
          options={['tcp', 'udp', 'icmp', 'any'].map((p) => ({ value: p, label: p === 'any' ? 'Any' : p.toUpperCase() }))}
          error={s.errorFor('protocol')}
        />
        {d.protocol !== 'any' ? (
          <TextInput
            label={d.protocol === 'icmp' ? 'ICMP type/code' : 'Port or range'}
            value={d.ports}
            onChange={(e) => setD({ ...d, ports: e.target.value })}
            placeholder={d.protocol === 'icmp' ? 'empty for all, 8 for ping' : '22 or 8000-8080'}
            error={s.errorFor('ports')}
          />
        ) : null}
        <Select
          label="Ether type"
          value={d.ethertype}
          onChange={(e) => setD({ ...d, ethertype: e.target.value === 'IPv6' ? 'IPv6' : 'IPv4', cidr: e.target.value === 'IPv6' ? '::/0' : '0.0.0.0/0' })}
          options={[
            { value: 'IPv4', label: 'IPv4' },
            { value: 'IPv6', label: 'IPv6' },
          ]}
        />
        <Select
          label="Remote"
          value={d.remote}
          onChange={(e) => setD({ ...d, remote: e.target.value === 'group' ? 'group' : 'cidr' })}
          options={[
            { value: 'cidr', label: 'Addresses (CIDR)' },
            { value: 'group', label: 'Members of a security group' },
          ]}
        />
        {d.remote === 'cidr' ? (
          <TextInput label="Remote CIDR" value={d.cidr} onChange={(e) => setD({ ...d, cidr: e.target.value })} error={s.errorFor('cidr')} />
        ) : (
          <Select label="Remote group" value={d.group} onChange={(e) => setD({ ...d, group: e.target.value })} options={groups.map((g) => ({ value: g.id, label: g.name }))} />
        )}
        <p className="preview" aria-live="polite">
          This rule {ruleSentence({ ...body, id: 'new' }, name)}.
        </p>
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Add rule
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function CreateGroupDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const api = useApi();
  const refresh = useRefresh();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const s = useSubmit({ name: ['name', 'default', 'exists'] });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void s
      .run(async () => {
        await api.post('network', '/security-groups', { security_group: { name: name.trim(), description } });
        await refresh('security-groups', 'network-quota');
      })
      .then((ok) => {
        if (ok) {
          setName('');
          setDescription('');
          onClose();
        }
      });
  };
  return (
    <Dialog title="Create a security group" open={open} onClose={onClose}>
      <form onSubmit={submit}>
        <TextInput label="Name" value={name} onChange={(e) => setName(e.target.value)} required error={s.errorFor('name')} autoFocus />
        <TextInput label="Description" value={description} onChange={(e) => setDescription(e.target.value)} />
        {s.formError ? (
          <p className="error" role="alert">
            {s.formError}
          </p>
        ) : null}
        <div className="actions">
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={s.pending}>
            Create group
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

/** Security groups and their rules, each rule also said in a plain sentence. */
export function SecurityGroups() {
  useTitle('Security groups');
  const api = useApi();
  const refresh = useRefresh();
  const { whyNot } = useAccess();
  const groups = useSecurityGroups();
  const [adding, setAdding] = useState<SecurityGroup | undefined>(undefined);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  if (!api.has('network')) {
    return (
      <section>
        <h1>Security groups</h1>
        <p>This cloud has no network service in its catalog yet.</p>
      </section>
    );
  }
  const list = groups.data ?? [];
  const name = (id: string) => list.find((g) => g.id === id)?.name ?? id.slice(0, 8);
  const fail = (what: string) => (err: unknown) => setError(`${what}: ${errorMessage(err)}`);
  const removeRule = (r: SecurityGroupRule) => {
    setError(undefined);
    api.delete('network', `/security-group-rules/${r.id}`).then(() => refresh('security-groups')).catch(fail('rule'));
  };
  const removeGroup = (g: SecurityGroup) => {
    if (!window.confirm(`Delete security group ${g.name}?`)) return;
    setError(undefined);
    api.delete('network', `/security-groups/${g.id}`).then(() => refresh('security-groups', 'network-quota')).catch(fail(g.name));
  };
  return (
    <section>
      <div className="page-head">
        <h1>Security groups</h1>
        <Button variant="primary" disabledReason={whyNot} onClick={() => setCreating(true)}>
          Create security group
        </Button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {groups.isPending ? <Loading what="security groups" /> : null}
      <ErrorText error={groups.error} />
      {groups.data?.length === 0 ? <Empty title="No security groups yet.">The default group appears when you first use the network.</Empty> : null}
      {list.map((g) => (
        <section key={g.id} className="card sg" aria-labelledby={`sg-${g.id}`} data-group={g.name}>
          <div className="page-head">
            <h2 id={`sg-${g.id}`}>{g.name}</h2>
            <span className="muted">{g.description}</span>
            <div className="row-actions">
              <Button disabledReason={whyNot} onClick={() => setAdding(g)} aria-label={`Add rule to ${g.name}`}>
                Add rule
              </Button>
              <Button
                variant="danger"
                disabledReason={whyNot ?? (g.name === 'default' ? 'The default group is kept: every project has one.' : undefined)}
                onClick={() => removeGroup(g)}
                aria-label={`Delete group ${g.name}`}
              >
                Delete group
              </Button>
            </div>
          </div>
          {g.security_group_rules.length === 0 ? (
            <p className="muted">No rules: nothing gets in, and nothing goes out. Add a rule.</p>
          ) : (
            <table className="table">
              <caption className="sr-only">Rules of {g.name}</caption>
              <thead>
                <tr>
                  <th scope="col">In plain words</th>
                  <th scope="col">Direction</th>
                  <th scope="col">Ether type</th>
                  <th scope="col">Protocol</th>
                  <th scope="col">Ports</th>
                  <th scope="col">Remote</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {g.security_group_rules.map((r) => (
                  <tr key={r.id}>
                    <td className="sentence">{ruleSentence(r, name)}</td>
                    <td>{r.direction}</td>
                    <td>{r.ethertype}</td>
                    <td>{r.protocol ?? 'any'}</td>
                    <td>{r.port_range_min === null ? 'any' : r.port_range_min === r.port_range_max ? r.port_range_min : `${r.port_range_min}-${r.port_range_max ?? ''}`}</td>
                    <td>{r.remote_group_id ? `group ${name(r.remote_group_id)}` : (r.remote_ip_prefix ?? 'any')}</td>
                    <td>
                      <Button variant="danger" disabledReason={whyNot} onClick={() => removeRule(r)} aria-label={`Delete rule: ${ruleSentence(r, name)}`}>
                        Delete
                      </Button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      ))}
      <AddRuleDialog group={adding} groups={list} onClose={() => setAdding(undefined)} />
      <CreateGroupDialog open={creating} onClose={() => setCreating(false)} />
    </section>
  );
}
