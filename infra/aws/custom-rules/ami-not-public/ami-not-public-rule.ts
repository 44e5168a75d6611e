import { paginateDescribeImages } from '@aws-sdk/client-ec2';
import type { CustomRule } from '../shared/custom-rule.ts';

/**
 * AMIs must not be public (no managed rule exists). AWS Config records no AMIs, so the rule is periodic: it lists the
 * account's own images and reports each as AWS::EC2::Image; deregistered ones turn NOT_APPLICABLE in the sweep.
 */
export const AmiNotPublicRule: CustomRule = {
  name: 'ami-not-public',
  resourceType: 'AWS::EC2::Image',
  async *sweep(clients) {
    for await (const page of paginateDescribeImages({ client: clients.ec2, pageSize: 1000 }, { Owners: ['self'] })) {
      for (const image of page.Images ?? []) {
        if (!image.ImageId) continue;
        yield image.Public
          ? { resourceType: 'AWS::EC2::Image', resourceId: image.ImageId, compliance: 'NON_COMPLIANT', annotation: `Image ${image.Name ?? image.ImageId} is public: its launch permission includes group "all".` }
          : { resourceType: 'AWS::EC2::Image', resourceId: image.ImageId, compliance: 'COMPLIANT' };
      }
    }
  },
};
