/**
 * The Kubernetes RBAC rules Trellis needs, written down once: the Helm chart renders them into its
 * ClusterRole (cluster-wide) and a Role in the lease namespace (leaseNamespace), and the tests bind a
 * ServiceAccount to exactly these, so a missing permission fails a test rather than a cluster.
 */
import type { V1PolicyRule } from '@kubernetes/client-node';

export interface KubeRbacRules {
  /** Granted by a ClusterRole: the source watches every namespace it is given (or all of them). */
  readonly clusterWide: readonly V1PolicyRule[];
  /** Granted by a Role in the lease namespace (--lease-namespace) only: nothing outside it is written. */
  readonly leaseNamespace: readonly V1PolicyRule[];
}

export const KUBE_RBAC_RULES: KubeRbacRules = {
  clusterWide: [
    // What the source reads (src/sources/kube/kinds.ts): list and watch; get for tools and the status writer.
    { apiGroups: [''], resources: ['namespaces', 'services', 'pods'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'list', 'watch'] },
    // Nodes, for the region (and zone) of the endpoints on them. Without this, Trellis still works, with a
    // warning: endpoints get no region, which locality-aware load balancing then treats as any region.
    { apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] },
    { apiGroups: ['trellis.dev'], resources: ['trafficpolicies'], verbs: ['list', 'watch'] },
    // The status writer: Accepted / Programmed conditions, through the status subresource only, on
    // policies in any watched namespace.
    { apiGroups: ['trellis.dev'], resources: ['trafficpolicies/status'], verbs: ['update', 'patch'] },
    // The trust bundle, published as ConfigMap trellis-ca-root-cert in every watched namespace
    // (src/certs/publish.ts). Read and replaced by that name only; create cannot be narrowed by name
    // (Kubernetes RBAC has no name to check before the object exists).
    { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'update'], resourceNames: ['trellis-ca-root-cert'] },
    { apiGroups: [''], resources: ['configmaps'], verbs: ['create'] },
    // The secure xDS port (src/certs/authn.ts): a proxy's ServiceAccount token is checked by TokenReview.
    // Cluster-scoped by nature: a review reads nothing and writes nothing.
    { apiGroups: ['authentication.k8s.io'], resources: ['tokenreviews'], verbs: ['create'] },
  ],
  leaseNamespace: [
    // Leader election among replicas (leader.ts): one Lease in the lease namespace.
    { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update'] },
    // Progress boards (progress-board.ts): each replica's count of proxies that acked each policy, read by
    // the status writer; ConfigMaps in the lease namespace.
    { apiGroups: [''], resources: ['configmaps'], verbs: ['list', 'create', 'update', 'delete'] },
    // Workload certificates (src/certs/requests.ts): a CertificateRequest per identity in Trellis's own
    // namespace, watched until issued, then deleted. Never approve: cert-manager's approver does.
    { apiGroups: ['cert-manager.io'], resources: ['certificaterequests'], verbs: ['create', 'get', 'list', 'watch', 'delete'] },
  ],
};
