import { CloudError } from '../errors.js';

/**
 * Neutron's error types, by the names clients match on (`NeutronError.type`).
 * Messages follow Neutron's wording where clients or people rely on it, and
 * say what to do next where Neutron's do not.
 */

const nf = (type: string, message: string): CloudError => new CloudError('NotFound', message, { type });
const cf = (type: string, message: string): CloudError => new CloudError('Conflict', message, { type });
const br = (type: string, message: string): CloudError => new CloudError('BadRequest', message, { type });

export const networkNotFound = (id: string): CloudError => nf('NetworkNotFound', `Network ${id} could not be found.`);
export const subnetNotFound = (id: string): CloudError => nf('SubnetNotFound', `Subnet ${id} could not be found.`);
export const portNotFound = (id: string): CloudError => nf('PortNotFound', `Port ${id} could not be found.`);
export const routerNotFound = (id: string): CloudError => nf('RouterNotFound', `Router ${id} could not be found.`);
export const floatingIpNotFound = (id: string): CloudError => nf('FloatingIPNotFound', `Floating IP ${id} could not be found`);
export const securityGroupNotFound = (id: string): CloudError => nf('SecurityGroupNotFound', `Security group ${id} does not exist`);
export const securityGroupRuleNotFound = (id: string): CloudError =>
  nf('SecurityGroupRuleNotFound', `Security group rule ${id} does not exist`);
export const extensionNotFound = (alias: string): CloudError => nf('ExtensionNotFound', `Extension with alias ${alias} does not exist`);
export const availabilityZoneNotFound = (name: string): CloudError =>
  nf('AvailabilityZoneNotFound', `AvailabilityZone ${name} could not be found.`);
export const tagNotFound = (id: string, tag: string): CloudError => nf('TagNotFound', `Tag ${tag} could not be found for resource ${id}.`);

export const invalidInput = (message: string): CloudError => br('InvalidInput', `Invalid input for operation: ${message}`);
export const badRequestFor = (resource: string, message: string): CloudError => br('BadRequest', `Bad ${resource} request: ${message}`);

/** A client-sent attribute that failed validation (Neutron answers these as HTTPBadRequest). */
export const invalidAttr = (attr: string, reason: string): CloudError =>
  br('HTTPBadRequest', `Invalid input for ${attr}. Reason: ${reason}.`);

export const policyNotAuthorized = (rule: string): CloudError =>
  new CloudError('Forbidden', `(rule:${rule}) is disallowed by policy`, { type: 'PolicyNotAuthorized' });

export const overQuota = (resources: string[]): CloudError =>
  cf('OverQuota', `Quota exceeded for resources: [${resources.map((r) => `'${r}'`).join(', ')}].`);

export const networkInUse = (id: string): CloudError =>
  cf('NetworkInUse', `Unable to complete operation on network ${id}. There are one or more ports still in use on the network.`);
export const subnetInUse = (id: string, reason = 'One or more ports have an IP allocation from this subnet.'): CloudError =>
  cf('SubnetInUse', `Unable to complete operation on subnet ${id}: ${reason}`);
export const routerInUse = (id: string, reason = 'still has ports'): CloudError => cf('RouterInUse', `Router ${id} ${reason}`);
export const securityGroupInUse = (id: string): CloudError => cf('SecurityGroupInUse', `Security Group ${id} in use.`);

export const ipGenerationFailure = (networkId: string): CloudError =>
  cf('IpAddressGenerationFailure', `No more IP addresses available on network ${networkId}.`);
export const ipAlreadyAllocated = (ip: string, subnetId: string): CloudError =>
  cf('IpAddressAlreadyAllocated', `IP address ${ip} already allocated in subnet ${subnetId}`);
export const invalidIpForSubnet = (ip: string): CloudError =>
  br('InvalidIpForSubnet', `IP address ${ip} is not a valid IP for the specified subnet.`);
export const macInUse = (networkId: string, mac: string): CloudError =>
  cf('MacAddressInUse', `Unable to complete operation for network ${networkId}. The mac address ${mac} is in use.`);

/** `If-Match: revision_number=N` did not hold. */
export const revisionMismatch = (wanted: number, current: number): CloudError =>
  new CloudError('Conflict', `Constrained to ${wanted}, but current revision is ${current}`, {
    type: 'RevisionNumberConstraintFailed',
    status: 412,
  });
