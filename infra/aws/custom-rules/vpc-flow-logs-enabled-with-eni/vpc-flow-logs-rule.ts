import { DescribeFlowLogsCommand, DescribeNetworkInterfacesCommand, paginateDescribeVpcs } from '@aws-sdk/client-ec2';
import type { ConfigurationItem, RuleEvaluation } from '../shared/config-rule-event.ts';
import type { CustomRule } from '../shared/custom-rule.ts';
import type { RuleClients } from '../shared/rule-clients.ts';

/**
 * VPC flow logs are required only for VPCs that have network interfaces: the managed rule flags every region's unused
 * default VPC, which buried real findings under mass non-compliance. A VPC without interfaces is NOT_APPLICABLE.
 * Change-triggered on AWS::EC2::VPC, and swept daily (an interface added later changes no VPC item).
 */
export const VpcFlowLogsRule: CustomRule = {
  name: 'vpc-flow-logs-enabled-with-eni',
  resourceType: 'AWS::EC2::VPC',
  evaluate: (item: ConfigurationItem, clients: RuleClients) => evaluateVpc(item.resourceId, clients),
  async *sweep(clients) {
    for await (const page of paginateDescribeVpcs({ client: clients.ec2, pageSize: 1000 }, {})) {
      for (const vpc of page.Vpcs ?? []) if (vpc.VpcId) yield await evaluateVpc(vpc.VpcId, clients);
    }
  },
};

async function evaluateVpc(vpcId: string, clients: RuleClients): Promise<RuleEvaluation> {
  const base = { resourceType: 'AWS::EC2::VPC', resourceId: vpcId } as const;
  const interfaces = await clients.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }], MaxResults: 5 }));
  if ((interfaces.NetworkInterfaces ?? []).length === 0) {
    return { ...base, compliance: 'NOT_APPLICABLE', annotation: 'The VPC has no network interfaces.' };
  }
  let nextToken: string | undefined;
  do {
    const page = await clients.ec2.send(new DescribeFlowLogsCommand({ Filter: [{ Name: 'resource-id', Values: [vpcId] }], NextToken: nextToken }));
    if ((page.FlowLogs ?? []).some((flowLog) => flowLog.FlowLogStatus === 'ACTIVE')) return { ...base, compliance: 'COMPLIANT' };
    nextToken = page.NextToken;
  } while (nextToken);
  return { ...base, compliance: 'NON_COMPLIANT', annotation: `VPC ${vpcId} has network interfaces and no active flow log.` };
}
