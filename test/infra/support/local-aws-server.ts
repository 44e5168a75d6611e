import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A local server speaking the real wire protocols of the AWS services the custom Config rules call, so tests use
 * the real SDK clients with an endpoint override: EC2 (EC2 query, XML), IAM and STS (AWS query, XML), Config
 * (JSON 1.1). The service comes from the SigV4 credential scope, the account from the access key (STS AssumeRole
 * hands out keys bound to the member account), so a test sees which account each call was made in.
 * Faults: throttling per service/action, small pages, PutEvaluations refusing some evaluations.
 */
export interface MemberAccount {
  images: { imageId: string; name: string; public: boolean }[];
  vpcs: string[];
  networkInterfaces: { id: string; vpcId: string }[];
  flowLogs: { id: string; resourceId: string; status: 'ACTIVE' | 'INACTIVE' }[];
  users: { userId: string; userName: string }[];
  loginProfiles: Set<string>;
  /** Results AWS Config holds for a rule (GetComplianceDetailsByConfigRule). */
  complianceResults: { ruleName: string; resourceType: string; resourceId: string; compliance: string }[];
  /** GetResourceConfigHistory answers, by `${resourceType}/${resourceId}`. */
  configHistory: Map<string, Record<string, unknown>>;
}

export interface RecordedCall {
  readonly service: string;
  readonly action: string;
  readonly accountId: string;
  readonly params: Record<string, unknown>;
}

export interface PutEvaluationsCall {
  readonly accountId: string;
  readonly resultToken: string;
  readonly evaluations: { ComplianceResourceType: string; ComplianceResourceId: string; ComplianceType: string; Annotation?: string; OrderingTimestamp: number }[];
}

export function emptyAccount(): MemberAccount {
  return { images: [], vpcs: [], networkInterfaces: [], flowLogs: [], users: [], loginProfiles: new Set(), complianceResults: [], configHistory: new Map() };
}

export class LocalAwsServer {
  readonly accounts = new Map<string, MemberAccount>();
  readonly calls: RecordedCall[] = [];
  readonly putEvaluations: PutEvaluationsCall[] = [];
  /** The role name STS lets callers assume in member accounts. */
  evaluatorRoleName = 'driftwatch-config-rule-evaluator';
  /** Items per page of every paginated answer (smaller than any client page size, to force paging). */
  pageSize = 2;
  readonly #throttles = new Map<string, number>();
  #refuseEvaluations = 0;
  readonly #keys = new Map<string, string>();
  #server: Server | undefined;

  /** Static credentials of the account the functions run in (management or delegated admin). */
  constructor(readonly ownAccountId: string) {
    this.#keys.set('AKIAOWNACCOUNT', ownAccountId);
  }

  get ownCredentials(): { accessKeyId: string; secretAccessKey: string } {
    return { accessKeyId: 'AKIAOWNACCOUNT', secretAccessKey: 'local-secret' };
  }

  account(accountId: string): MemberAccount {
    let account = this.accounts.get(accountId);
    if (!account) this.accounts.set(accountId, (account = emptyAccount()));
    return account;
  }

  /** The next `times` calls of service:action answer with the service's throttling error. */
  throttle(service: string, action: string, times: number): void {
    this.#throttles.set(`${service}:${action}`, times);
  }

  /** The next PutEvaluations call reports its first `count` evaluations as failed. */
  refuseEvaluations(count: number): void {
    this.#refuseEvaluations = count;
  }

  callsOf(service: string, action: string): RecordedCall[] {
    return this.calls.filter((call) => call.service === service && call.action === action);
  }

  async start(): Promise<string> {
    this.#server = createServer((request, response) => {
      void this.#handle(request, response).catch((error: unknown) => {
        response.writeHead(500, { 'content-type': 'text/plain' });
        response.end(String(error));
      });
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.#server ? this.#server.close(() => resolve()) : resolve()));
  }

  async #handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const scope = /Credential=([^/]+)\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(request.headers.authorization ?? '');
    if (!scope) return send(response, 403, 'text/plain', 'missing SigV4 signature');
    const [, accessKeyId, service] = scope as unknown as [string, string, string];
    const accountId = this.#keys.get(accessKeyId);
    if (!accountId) return send(response, 403, 'text/plain', `unknown access key ${accessKeyId}`);

    if (service === 'config') {
      const action = String(request.headers['x-amz-target'] ?? '').replace('StarlingDoveService.', '');
      const params = JSON.parse(body || '{}') as Record<string, unknown>;
      this.calls.push({ service, action, accountId, params });
      if (this.#takeThrottle(service, action)) return sendJson(response, 400, { __type: 'ThrottlingException', message: 'Rate exceeded' });
      return this.#config(response, action, params, accountId);
    }
    const params = Object.fromEntries(new URLSearchParams(body));
    const action = params['Action'] ?? '';
    this.calls.push({ service, action, accountId, params });
    if (this.#takeThrottle(service, action)) {
      return service === 'ec2'
        ? sendXml(response, 503, ec2Error('RequestLimitExceeded', 'Request limit exceeded.'))
        : sendXml(response, 400, queryError('Throttling', 'Rate exceeded', service));
    }
    if (service === 'ec2') return this.#ec2(response, action, params, this.account(accountId));
    if (service === 'iam') return this.#iam(response, action, params, this.account(accountId));
    if (service === 'sts') return this.#sts(response, action, params);
    return send(response, 400, 'text/plain', `unsupported service ${service}`);
  }

  #takeThrottle(service: string, action: string): boolean {
    const left = this.#throttles.get(`${service}:${action}`) ?? 0;
    if (left <= 0) return false;
    this.#throttles.set(`${service}:${action}`, left - 1);
    return true;
  }

  #page<T>(items: readonly T[], token: string | undefined): { page: T[]; next: string | undefined } {
    const start = token ? Number(token.replace('page-', '')) : 0;
    const page = items.slice(start, start + this.pageSize);
    return { page, next: start + this.pageSize < items.length ? `page-${start + this.pageSize}` : undefined };
  }

  #ec2(response: ServerResponse, action: string, params: Record<string, string>, account: MemberAccount): void {
    const filters = ec2Filters(params);
    const maxResults = params['MaxResults'] === undefined ? undefined : Number(params['MaxResults']);
    if (maxResults !== undefined && (maxResults < 5 || maxResults > 1000)) {
      return sendXml(response, 400, ec2Error('InvalidParameterValue', `Value ( ${maxResults} ) for parameter maxResults is invalid. Expecting a value between 5 and 1000.`));
    }
    const token = params['NextToken'];
    const next = (value: string | undefined) => (value ? `<nextToken>${value}</nextToken>` : '');
    switch (action) {
      case 'DescribeImages': {
        if (params['Owner.1'] !== 'self') return sendXml(response, 400, ec2Error('InvalidParameterValue', 'expected Owner.1=self'));
        const { page, next: nextToken } = this.#page(account.images, token);
        const items = page.map((i) => `<item><imageId>${i.imageId}</imageId><name>${esc(i.name)}</name><imageState>available</imageState><isPublic>${i.public}</isPublic></item>`);
        return sendXml(response, 200, ec2Response(action, `<imagesSet>${items.join('')}</imagesSet>${next(nextToken)}`));
      }
      case 'DescribeVpcs': {
        const { page, next: nextToken } = this.#page(account.vpcs, token);
        const items = page.map((vpcId) => `<item><vpcId>${vpcId}</vpcId><state>available</state><isDefault>false</isDefault></item>`);
        return sendXml(response, 200, ec2Response(action, `<vpcSet>${items.join('')}</vpcSet>${next(nextToken)}`));
      }
      case 'DescribeNetworkInterfaces': {
        const vpcIds = filters.get('vpc-id');
        const matching = account.networkInterfaces.filter((eni) => !vpcIds || vpcIds.includes(eni.vpcId));
        const { page, next: nextToken } = this.#page(matching, token);
        const items = page.map((eni) => `<item><networkInterfaceId>${eni.id}</networkInterfaceId><vpcId>${eni.vpcId}</vpcId><status>in-use</status></item>`);
        return sendXml(response, 200, ec2Response(action, `<networkInterfaceSet>${items.join('')}</networkInterfaceSet>${next(nextToken)}`));
      }
      case 'DescribeFlowLogs': {
        const resourceIds = filters.get('resource-id');
        const matching = account.flowLogs.filter((flowLog) => !resourceIds || resourceIds.includes(flowLog.resourceId));
        const { page, next: nextToken } = this.#page(matching, token);
        const items = page.map((f) => `<item><flowLogId>${f.id}</flowLogId><flowLogStatus>${f.status}</flowLogStatus><resourceId>${f.resourceId}</resourceId></item>`);
        return sendXml(response, 200, ec2Response(action, `<flowLogSet>${items.join('')}</flowLogSet>${next(nextToken)}`));
      }
      default:
        return sendXml(response, 400, ec2Error('InvalidAction', `The action ${action} is not valid for this web service.`));
    }
  }

  #iam(response: ServerResponse, action: string, params: Record<string, string>, account: MemberAccount): void {
    switch (action) {
      case 'ListUsers': {
        const { page, next } = this.#page(account.users, params['Marker']);
        const members = page.map(
          (u) => `<member><Path>/</Path><UserName>${esc(u.userName)}</UserName><UserId>${u.userId}</UserId><Arn>arn:aws:iam::000000000000:user/${esc(u.userName)}</Arn><CreateDate>2024-03-01T09:00:00Z</CreateDate></member>`,
        );
        const truncated = next ? `<IsTruncated>true</IsTruncated><Marker>${next}</Marker>` : '<IsTruncated>false</IsTruncated>';
        return sendXml(response, 200, queryResponse('iam', action, `<Users>${members.join('')}</Users>${truncated}`));
      }
      case 'GetLoginProfile': {
        const userName = params['UserName'] ?? '';
        if (!account.loginProfiles.has(userName)) return sendXml(response, 404, queryError('NoSuchEntity', `Login Profile for User ${userName} cannot be found.`, 'iam'));
        return sendXml(response, 200, queryResponse('iam', action, `<LoginProfile><UserName>${esc(userName)}</UserName><CreateDate>2024-03-01T09:00:00Z</CreateDate><PasswordResetRequired>false</PasswordResetRequired></LoginProfile>`));
      }
      default:
        return sendXml(response, 400, queryError('InvalidAction', `Could not find operation ${action}`, 'iam'));
    }
  }

  #sts(response: ServerResponse, action: string, params: Record<string, string>): void {
    if (action !== 'AssumeRole') return sendXml(response, 400, queryError('InvalidAction', `Could not find operation ${action}`, 'sts'));
    const match = /^arn:aws:iam::(\d{12}):role\/(.+)$/.exec(params['RoleArn'] ?? '');
    if (!match || match[2] !== this.evaluatorRoleName || !this.accounts.has(match[1]!)) {
      return sendXml(response, 403, queryError('AccessDenied', `not authorized to perform: sts:AssumeRole on resource: ${params['RoleArn']}`, 'sts'));
    }
    const accessKeyId = `ASIA${randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase()}`;
    this.#keys.set(accessKeyId, match[1]!);
    const session = params['RoleSessionName'] ?? 'session';
    return sendXml(
      response,
      200,
      queryResponse(
        'sts',
        action,
        `<Credentials><AccessKeyId>${accessKeyId}</AccessKeyId><SecretAccessKey>assumed-secret</SecretAccessKey><SessionToken>assumed-token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>` +
          `<AssumedRoleUser><AssumedRoleId>AROAEXAMPLE:${esc(session)}</AssumedRoleId><Arn>arn:aws:sts::${match[1]}:assumed-role/${match[2]}/${esc(session)}</Arn></AssumedRoleUser>`,
      ),
    );
  }

  #config(response: ServerResponse, action: string, params: Record<string, unknown>, accountId: string): void {
    const account = this.account(accountId);
    switch (action) {
      case 'PutEvaluations': {
        const evaluations = (params['Evaluations'] ?? []) as PutEvaluationsCall['evaluations'];
        if (evaluations.length > 100) return sendJson(response, 400, { __type: 'ValidationException', message: 'Evaluations has more than 100 members' });
        if (typeof params['ResultToken'] !== 'string' || params['ResultToken'] === '') return sendJson(response, 400, { __type: 'InvalidResultTokenException', message: 'no result token' });
        const refused = evaluations.slice(0, this.#refuseEvaluations);
        this.#refuseEvaluations = 0;
        this.putEvaluations.push({ accountId, resultToken: params['ResultToken'], evaluations: evaluations.slice(refused.length) });
        return sendJson(response, 200, { FailedEvaluations: refused });
      }
      case 'GetComplianceDetailsByConfigRule': {
        const types = (params['ComplianceTypes'] as string[] | undefined) ?? [];
        const matching = account.complianceResults.filter((r) => r.ruleName === params['ConfigRuleName'] && (types.length === 0 || types.includes(r.compliance)));
        const { page, next } = this.#page(matching, params['NextToken'] as string | undefined);
        return sendJson(response, 200, {
          EvaluationResults: page.map((r) => ({
            EvaluationResultIdentifier: { EvaluationResultQualifier: { ConfigRuleName: r.ruleName, ResourceType: r.resourceType, ResourceId: r.resourceId }, OrderingTimestamp: 1_764_000_000 },
            ComplianceType: r.compliance,
            ResultRecordedTime: 1_764_000_000,
            ConfigRuleInvokedTime: 1_764_000_000,
          })),
          ...(next ? { NextToken: next } : {}),
        });
      }
      case 'GetResourceConfigHistory': {
        const item = account.configHistory.get(`${String(params['resourceType'])}/${String(params['resourceId'])}`);
        if (!item) return sendJson(response, 400, { __type: 'ResourceNotDiscoveredException', message: 'Resource is not discovered' });
        return sendJson(response, 200, { configurationItems: [item] });
      }
      default:
        return sendJson(response, 400, { __type: 'UnknownOperationException', message: action });
    }
  }
}

function ec2Filters(params: Record<string, string>): Map<string, string[]> {
  const filters = new Map<string, string[]>();
  for (const [key, value] of Object.entries(params)) {
    const name = /^Filter\.(\d+)\.Name$/.exec(key);
    if (!name) continue;
    const values = Object.entries(params).filter(([k]) => k.startsWith(`Filter.${name[1]}.Value.`)).map(([, v]) => v);
    filters.set(value, values);
  }
  return filters;
}

function ec2Response(action: string, inner: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>${randomUUID()}</requestId>${inner}</${action}Response>`;
}

function ec2Error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${code}</Code><Message>${esc(message)}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
}

const QueryNamespaces: Record<string, string> = { iam: 'https://iam.amazonaws.com/doc/2010-05-08/', sts: 'https://sts.amazonaws.com/doc/2011-06-15/' };

function queryResponse(service: string, action: string, inner: string): string {
  return `<${action}Response xmlns="${QueryNamespaces[service]}"><${action}Result>${inner}</${action}Result><ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`;
}

function queryError(code: string, message: string, service: string): string {
  return `<ErrorResponse xmlns="${QueryNamespaces[service]}"><Error><Type>Sender</Type><Code>${code}</Code><Message>${esc(message)}</Message></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`;
}

function esc(value: string): string {
  return value.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

function send(response: ServerResponse, status: number, type: string, body: string): void {
  response.writeHead(status, { 'content-type': type, 'x-amzn-requestid': randomUUID() });
  response.end(body);
}

function sendXml(response: ServerResponse, status: number, body: string): void {
  send(response, status, 'text/xml', body);
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  send(response, status, 'application/x-amz-json-1.1', JSON.stringify(body));
}
