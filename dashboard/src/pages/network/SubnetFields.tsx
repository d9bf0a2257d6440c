import { Checkbox, TextInput } from '../../ui/controls';

export interface SubnetDraft {
  name: string;
  cidr: string;
  gateway: string;
  dhcp: boolean;
}

export const emptySubnet = (): SubnetDraft => ({ name: '', cidr: '', gateway: '', dhcp: true });

/** Words in Neutron's messages that point at each subnet field. */
export const SUBNET_FIELD_WORDS = {
  cidr: ['cidr', 'subnet range', 'overlap', 'prefix', 'invalid network'],
  gateway: ['gateway'],
};

/** The body of POST /subnets for a draft. */
export function subnetBody(networkId: string, d: SubnetDraft): Record<string, unknown> {
  const body: Record<string, unknown> = { network_id: networkId, ip_version: d.cidr.includes(':') ? 6 : 4, cidr: d.cidr.trim(), enable_dhcp: d.dhcp };
  if (d.name.trim()) body['name'] = d.name.trim();
  if (d.gateway.trim()) body['gateway_ip'] = d.gateway.trim();
  return body;
}

export function SubnetFields({
  draft,
  onChange,
  errors,
}: {
  draft: SubnetDraft;
  onChange: (d: SubnetDraft) => void;
  errors: { cidr?: string | undefined; gateway?: string | undefined };
}) {
  return (
    <>
      <TextInput label="Subnet name" value={draft.name} onChange={(e) => onChange({ ...draft, name: e.target.value })} />
      <TextInput
        label="Subnet range (CIDR)"
        value={draft.cidr}
        placeholder="10.0.1.0/24"
        onChange={(e) => onChange({ ...draft, cidr: e.target.value })}
        error={errors.cidr}
      />
      <TextInput
        label="Gateway IP"
        value={draft.gateway}
        placeholder="first address of the range"
        onChange={(e) => onChange({ ...draft, gateway: e.target.value })}
        error={errors.gateway}
        hint="Leave empty for the first address."
      />
      <Checkbox label="Enable DHCP" checked={draft.dhcp} onChange={(e) => onChange({ ...draft, dhcp: e.target.checked })} />
    </>
  );
}
