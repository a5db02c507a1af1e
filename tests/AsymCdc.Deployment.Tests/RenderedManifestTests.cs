using System.Globalization;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// Renders k8s/overlays/{dev,gpu} with `kubectl kustomize` and the Helm chart with `helm template`,
/// and checks the objects against what the silo and Microsoft.Orleans.Hosting.Kubernetes need
/// (docs/ARCHITECTURE.md, docs/OPERATIONS.md). Both forms must pass the same checks.
/// </summary>
public sealed partial class RenderedManifestTests(OverlayFixture overlays) : IClassFixture<OverlayFixture>
{
    public static TheoryData<string> Overlays => new() { "dev", "gpu", "helm", "helm-cpu", "helm-models", "gpu-models" };

    public static TheoryData<string> GpuPool => new() { "gpu", "helm" };

    public static TheoryData<string> CpuOnly => new() { "dev", "helm-cpu" };

    public static TheoryData<string> Autoscaled => new() { "gpu", "helm", "helm-cpu" };

    private static readonly string[] Components = ["frontend", "gpu-worker"];

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Renders_every_object_of_the_cluster(string overlay)
    {
        var m = overlays[overlay];

        Assert.Equal(2, m.SiloDeployments().Count);
        Assert.Equal("frontend", m.Setting(m.SiloDeployment("frontend"), "AsymCdc__Silo__Roles"));
        Assert.Equal("gpu-worker", m.Setting(m.SiloDeployment("gpu-worker"), "AsymCdc__Silo__Roles"));
        Assert.Single(m.OfKind("ServiceAccount"));
        Assert.Single(m.OfKind("Role"));
        Assert.Single(m.OfKind("RoleBinding"));
        Assert.Equal(2, m.OfKind("PodDisruptionBudget").Count());
        Assert.All(m.Objects.Where(o => (string?)o["kind"] != "Namespace"),
            o => Assert.Equal(RenderedManifests.Namespace, RenderedManifests.NamespaceOf(o)));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Orleans_labels_equal_the_ids_the_silo_reads(string overlay)
    {
        var m = overlays[overlay];
        var ids = new HashSet<string>();
        foreach (var deployment in m.SiloDeployments())
        {
            var labels = RenderedManifests.PodLabels(deployment);
            foreach (var (label, settings) in new[]
            {
                ("orleans/serviceId", new[] { "AsymCdc__Silo__ServiceId", "ORLEANS_SERVICE_ID" }),
                ("orleans/clusterId", new[] { "AsymCdc__Silo__ClusterId", "ORLEANS_CLUSTER_ID" }),
            })
            {
                Assert.False(string.IsNullOrEmpty(labels.GetValueOrDefault(label)),
                    $"{RenderedManifests.Name(deployment)}: pod template lacks label {label}");
                foreach (var setting in settings)
                {
                    var fieldPath = RenderedManifests.FieldRef(deployment, setting);
                    Assert.True(RenderedManifests.LabelOfFieldPath(fieldPath) == label,
                        $"{RenderedManifests.Name(deployment)}: {setting} must come from the pod label {label} by fieldRef, got '{fieldPath}'");
                    Assert.Null(m.Setting(deployment, setting));
                }
            }

            ids.Add($"{labels["orleans/serviceId"]}/{labels["orleans/clusterId"]}");
        }

        // Frontends and workers form one Orleans cluster.
        Assert.Single(ids);
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Pod_identity_comes_from_the_downward_api(string overlay)
    {
        var m = overlays[overlay];
        Assert.All(m.SiloDeployments(), d =>
        {
            Assert.Equal("metadata.name", RenderedManifests.FieldRef(d, "POD_NAME"));
            Assert.Equal("metadata.namespace", RenderedManifests.FieldRef(d, "POD_NAMESPACE"));
            Assert.Equal("status.podIP", RenderedManifests.FieldRef(d, "POD_IP"));
        });
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Probes_hit_the_three_health_endpoints_on_the_http_port(string overlay)
    {
        var m = overlays[overlay];
        foreach (var deployment in m.SiloDeployments())
        {
            var container = RenderedManifests.SiloContainer(deployment);
            var httpPort = int.Parse(m.Setting(deployment, "AsymCdc__Silo__HttpPort") ?? "8080", CultureInfo.InvariantCulture);
            foreach (var (probe, path) in new[]
            {
                ("startupProbe", "/health/startup"),
                ("readinessProbe", "/health/ready"),
                ("livenessProbe", "/health/live"),
            })
            {
                var get = container[probe]?["httpGet"]
                    ?? throw new Xunit.Sdk.XunitException($"{RenderedManifests.Name(deployment)} has no HTTP {probe}");
                Assert.Equal(path, (string?)get["path"]);
                Assert.Equal(httpPort, RenderedManifests.ContainerPort(container, get["port"]!));
            }
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Termination_grace_outlasts_the_drain(string overlay)
    {
        var m = overlays[overlay];
        foreach (var deployment in m.SiloDeployments())
        {
            var drain = TimeSpan.Parse(m.Setting(deployment, "AsymCdc__Silo__DrainTimeout") ?? "00:00:20", CultureInfo.InvariantCulture);
            var preStop = (int?)RenderedManifests.SiloContainer(deployment)["lifecycle"]?["preStop"]?["sleep"]?["seconds"] ?? 0;
            var grace = (int?)RenderedManifests.PodSpec(deployment)["terminationGracePeriodSeconds"] ?? 30;
            Assert.True(grace > drain.TotalSeconds + preStop,
                $"{RenderedManifests.Name(deployment)}: terminationGracePeriodSeconds {grace} must exceed preStop {preStop} s + DrainTimeout {drain}");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Rolling_updates_never_remove_a_silo_first(string overlay)
    {
        Assert.All(overlays[overlay].SiloDeployments(), d =>
        {
            Assert.Equal("RollingUpdate", (string?)d["spec"]!["strategy"]!["type"]);
            Assert.Equal(0, (int)d["spec"]!["strategy"]!["rollingUpdate"]!["maxUnavailable"]!);
        });
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Silos_may_get_list_watch_patch_and_delete_pods(string overlay)
    {
        var m = overlays[overlay];
        foreach (var deployment in m.SiloDeployments())
        {
            var account = (string?)RenderedManifests.PodSpec(deployment)["serviceAccountName"];
            Assert.False(string.IsNullOrEmpty(account), $"{RenderedManifests.Name(deployment)} runs as the default ServiceAccount");
            m.Get("ServiceAccount", account!);

            var binding = m.OfKind("RoleBinding").SingleOrDefault(b => b["subjects"]!.AsArray().Any(s =>
                (string?)s!["kind"] == "ServiceAccount" && (string?)s["name"] == account
                && (string?)s["namespace"] == RenderedManifests.NamespaceOf(deployment)));
            Assert.True(binding is not null, $"no RoleBinding names ServiceAccount {account} in its namespace");
            Assert.Equal("Role", (string?)binding!["roleRef"]!["kind"]);

            var role = m.Get("Role", (string)binding["roleRef"]!["name"]!);
            var podVerbs = role["rules"]!.AsArray()
                .Where(r => r!["apiGroups"]!.AsArray().Any(g => (string?)g == "")
                    && r["resources"]!.AsArray().Any(x => (string?)x == "pods"))
                .SelectMany(r => r!["verbs"]!.AsArray().Select(v => (string)v!))
                .ToHashSet();
            Assert.Superset(new HashSet<string> { "get", "list", "watch", "patch", "delete" }, podVerbs);
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Each_role_has_a_disruption_budget_of_its_own(string overlay)
    {
        var m = overlays[overlay];
        foreach (var component in Components)
        {
            var labels = RenderedManifests.PodLabels(m.SiloDeployment(component));
            var budgets = m.OfKind("PodDisruptionBudget")
                .Where(p => RenderedManifests.Selects(p["spec"]!["selector"]!["matchLabels"], labels)).ToList();
            var budget = Assert.Single(budgets);
            var maxUnavailable = (int?)budget["spec"]!["maxUnavailable"];
            var minAvailable = (int?)budget["spec"]!["minAvailable"];
            Assert.True(maxUnavailable >= 1 || minAvailable >= 1,
                $"PodDisruptionBudget {RenderedManifests.Name(budget)} must allow one eviction at a time");
        }
    }

    [Theory]
    [MemberData(nameof(Autoscaled))]
    public void Workers_scale_on_queue_delay_served_by_the_prometheus_adapter(string overlay)
    {
        var m = overlays[overlay];
        var hpa = Assert.Single(m.OfKind("HorizontalPodAutoscaler"));
        var worker = m.SiloDeployment("gpu-worker");
        Assert.Equal("autoscaling/v2", (string?)hpa["apiVersion"]);
        Assert.Equal("Deployment", (string?)hpa["spec"]!["scaleTargetRef"]!["kind"]);
        Assert.Equal(RenderedManifests.Name(worker), (string?)hpa["spec"]!["scaleTargetRef"]!["name"]);

        var metric = Assert.Single(hpa["spec"]!["metrics"]!.AsArray())!;
        Assert.Equal("Pods", (string?)metric["type"]);
        Assert.Equal(PrometheusAdapterTests.QueueDelayMetric, (string?)metric["pods"]!["metric"]!["name"]);
        Assert.Equal("AverageValue", (string?)metric["pods"]!["target"]!["type"]);
        Assert.Contains(PrometheusAdapterTests.QueueDelayMetric, PrometheusAdapterTests.ExposedMetricNames());

        var k = int.Parse(m.Setting(worker, "AsymCdc__Serving__K")!, CultureInfo.InvariantCulture);
        Assert.True((int)hpa["spec"]!["minReplicas"]! >= k + 1, "fewer than k + 1 workers cannot place a parity group on distinct silos");
        Assert.True((int)hpa["spec"]!["maxReplicas"]! >= (int)hpa["spec"]!["minReplicas"]!);

        // A replica count in the Deployment would reset the HPA's choice on every apply.
        Assert.False(worker["spec"]!.AsObject().ContainsKey("replicas"), $"{overlay}: the HPA owns the worker replica count");
    }

    [Theory]
    [MemberData(nameof(Autoscaled))]
    public void Workers_scale_at_the_same_pace_whichever_way_the_cluster_is_deployed(string overlay)
    {
        var reference = Assert.Single(overlays["gpu"].OfKind("HorizontalPodAutoscaler"))["spec"]!["behavior"]!;
        var behavior = Assert.Single(overlays[overlay].OfKind("HorizontalPodAutoscaler"))["spec"]!["behavior"];

        Assert.True(JsonNode.DeepEquals(reference, behavior), $"{overlay}: HPA behavior {behavior?.ToJsonString()} is not k8s/base's {reference.ToJsonString()}");
        // Both directions are rate-limited: Kubernetes' default policies add 100% (or 4 pods) and remove 100% every 15 s.
        Assert.NotEmpty(reference["scaleUp"]!["policies"]!.AsArray());
        Assert.NotEmpty(reference["scaleDown"]!["policies"]!.AsArray());
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Gateway_http_and_grpc_services_reach_the_frontends(string overlay)
    {
        var m = overlays[overlay];
        var frontend = m.SiloDeployment("frontend");
        var worker = m.SiloDeployment("gpu-worker");
        var container = RenderedManifests.SiloContainer(frontend);
        foreach (var (service, setting) in new[]
        {
            ("asymcdc-gateway", "AsymCdc__Silo__GatewayPort"), ("asymcdc-http", "AsymCdc__Silo__HttpPort"), ("asymcdc-grpc", "AsymCdc__Silo__GrpcPort"),
        })
        {
            var svc = m.Get("Service", service);
            Assert.True(RenderedManifests.Selects(svc["spec"]!["selector"], RenderedManifests.PodLabels(frontend)), $"{service} does not select the frontend pods");
            Assert.False(RenderedManifests.Selects(svc["spec"]!["selector"], RenderedManifests.PodLabels(worker)), $"{service} must not send callers to workers");
            var port = Assert.Single(svc["spec"]!["ports"]!.AsArray())!;
            var expected = int.Parse(m.Setting(frontend, setting)!, CultureInfo.InvariantCulture);
            Assert.Equal(expected, (int)port["port"]!);
            Assert.Equal(expected, RenderedManifests.ContainerPort(container, port["targetPort"]!));
        }

        Assert.Equal(30000, int.Parse(m.Setting(frontend, "AsymCdc__Silo__GatewayPort")!, CultureInfo.InvariantCulture));
        Assert.Equal(8080, int.Parse(m.Setting(frontend, "AsymCdc__Silo__HttpPort")!, CultureInfo.InvariantCulture));
        Assert.Equal(8081, int.Parse(m.Setting(frontend, "AsymCdc__Silo__GrpcPort")!, CultureInfo.InvariantCulture));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Grpc_is_served_by_the_frontends_as_h2c(string overlay)
    {
        // The silo's gRPC endpoint speaks HTTP/2 only, in cleartext with prior knowledge: a proxy or Gateway API
        // implementation that spoke HTTP/1.1 to it would fail every call, so the Service port says h2c.
        var m = overlays[overlay];
        var frontend = m.SiloDeployment("frontend");
        var grpc = Assert.Single(m.Get("Service", "asymcdc-grpc")["spec"]!["ports"]!.AsArray())!;
        Assert.Equal("grpc", (string?)grpc["name"]);
        Assert.Equal("kubernetes.io/h2c", (string?)grpc["appProtocol"]);
        Assert.Equal("grpc", (string?)grpc["targetPort"]);
        var port = Assert.Single(RenderedManifests.SiloContainer(frontend)["ports"]!.AsArray(), p => (string?)p!["name"] == "grpc")!;
        Assert.Equal(m.Setting(frontend, "AsymCdc__Silo__GrpcPort"), ((int)port["containerPort"]!).ToString(CultureInfo.InvariantCulture));

        // Workers serve no gRPC: no port to reach, and no Service selects them for it.
        var worker = m.SiloDeployment("gpu-worker");
        Assert.DoesNotContain(RenderedManifests.SiloContainer(worker)["ports"]!.AsArray(), p => (string?)p!["name"] == "grpc");
        Assert.DoesNotContain(m.OfKind("Service"), svc => RenderedManifests.Selects(svc["spec"]!["selector"], RenderedManifests.PodLabels(worker))
            && svc["spec"]!["ports"]!.AsArray().Any(p => (string?)p!["name"] == "grpc"));
    }

    [Fact]
    public void Chart_and_kustomize_give_the_frontends_the_same_ports_and_services()
    {
        var expected = FrontendPorts(overlays["gpu"]);
        Assert.Contains("service asymcdc-grpc: grpc 8081 -> grpc (kubernetes.io/h2c)", expected);
        Assert.Contains("container grpc: 8081 (AsymCdc__Silo__GrpcPort=8081)", expected);
        foreach (var source in new[] { "dev", "helm", "helm-cpu" })
        {
            Assert.Equal(expected, FrontendPorts(overlays[source]));
        }
    }

    /// <summary>What a caller of the frontends sees of one deployment source: the frontend container's ports with the
    /// settings that open them, and every port of the Services that select the frontend pods.</summary>
    private static List<string> FrontendPorts(RenderedManifests m)
    {
        var frontend = m.SiloDeployment("frontend");
        var settings = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["http"] = "AsymCdc__Silo__HttpPort", ["silo"] = "AsymCdc__Silo__SiloPort", ["gateway"] = "AsymCdc__Silo__GatewayPort", ["grpc"] = "AsymCdc__Silo__GrpcPort",
        };
        var lines = RenderedManifests.SiloContainer(frontend)["ports"]!.AsArray().Select(p =>
        {
            var name = (string)p!["name"]!;
            var setting = settings.TryGetValue(name, out var key) ? $" ({key}={m.Setting(frontend, key)})" : "";
            return $"container {name}: {(int)p["containerPort"]!}{setting}";
        }).ToList();
        foreach (var svc in m.OfKind("Service").Where(s => RenderedManifests.Selects(s["spec"]!["selector"], RenderedManifests.PodLabels(frontend))))
        {
            lines.AddRange(svc["spec"]!["ports"]!.AsArray().Select(p =>
                $"service {RenderedManifests.Name(svc)}: {(string?)p!["name"]} {(int)p["port"]!} -> {p["targetPort"]} ({(string?)p["appProtocol"] ?? "no appProtocol"})"));
        }

        return lines.Order(StringComparer.Ordinal).ToList();
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Serving_settings_are_valid_values(string overlay)
    {
        var m = overlays[overlay];
        var modes = ServingModeNames.FromAbstractions();
        foreach (var deployment in m.SiloDeployments())
        {
            var k = int.Parse(m.Setting(deployment, "AsymCdc__Serving__K")!, CultureInfo.InvariantCulture);
            Assert.InRange(k, 2, 4);
            Assert.Contains(m.Setting(deployment, "AsymCdc__Serving__DefaultMode"), modes);
            Assert.Contains(m.Setting(deployment, "AsymCdc__Inference__ExecutionProvider"), new[] { "cpu", "cuda" });
            Assert.Contains(m.Setting(deployment, "AsymCdc__Silo__Clustering"), new[] { "localhost", "redis", "kubernetes" });
            AssertModelRepositoryIsInTheImageOrOnAReadOnlyVolume(deployment, m.Setting(deployment, "AsymCdc__Inference__ModelRepository"));
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Every_setting_is_a_documented_configuration_key(string overlay)
    {
        var m = overlays[overlay];
        var architecture = RepositoryLayout.ReadText("docs", "ARCHITECTURE.md");
        string[] kubernetesHosting = ["POD_NAME", "POD_NAMESPACE", "POD_IP", "ORLEANS_SERVICE_ID", "ORLEANS_CLUSTER_ID"];
        foreach (var name in m.SiloDeployments().SelectMany(m.SettingNames).Distinct())
        {
            if (kubernetesHosting.Contains(name))
            {
                continue;
            }

            var key = ConfigurationKey().Match(name);
            Assert.True(key.Success, $"setting {name} is neither an AsymCdc__Section__Key nor a Kubernetes hosting variable");
            var (section, option) = (key.Groups[1].Value, key.Groups[2].Value);
            Assert.True(architecture.Contains($"`AsymCdc:{section}", StringComparison.Ordinal) && architecture.Contains($"{option}`", StringComparison.Ordinal),
                $"{name}: docs/ARCHITECTURE.md documents no key AsymCdc:{section}:{option}");
        }
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Containers_run_pinned_images_as_non_root(string overlay)
    {
        var m = overlays[overlay];
        foreach (var deployment in m.OfKind("Deployment"))
        {
            Assert.True((bool?)RenderedManifests.PodSpec(deployment)["securityContext"]?["runAsNonRoot"] == true,
                $"{RenderedManifests.Name(deployment)} must set runAsNonRoot");
            foreach (var container in RenderedManifests.Containers(deployment))
            {
                var image = (string)container["image"]!;
                Assert.True(DockerfileTests.IsPinned(image), $"{RenderedManifests.Name(deployment)}: image {image} is not pinned to a tag");
                Assert.False((bool?)container["securityContext"]?["allowPrivilegeEscalation"] ?? true,
                    $"{RenderedManifests.Name(deployment)}: allowPrivilegeEscalation must be false");
            }
        }
    }

    [Theory]
    [MemberData(nameof(GpuPool))]
    public void Gpu_pool_gets_the_workers_and_not_the_frontends(string source)
    {
        var m = overlays[source];
        var worker = m.SiloDeployment("gpu-worker");
        var pod = RenderedManifests.PodSpec(worker);
        var container = RenderedManifests.SiloContainer(worker);

        Assert.True((int?)container["resources"]?["limits"]?["nvidia.com/gpu"] >= 1, "workers must request nvidia.com/gpu");
        Assert.Contains(pod["tolerations"]?.AsArray() ?? [], t =>
            (string?)t!["key"] == "nvidia.com/gpu" && (string?)t["effect"] == "NoSchedule"
            && ((string?)t["operator"] == "Exists" || t["value"] is not null));
        var terms = pod["affinity"]?["nodeAffinity"]?["requiredDuringSchedulingIgnoredDuringExecution"]?["nodeSelectorTerms"]?.AsArray();
        Assert.True(terms is { Count: > 0 } || pod["nodeSelector"] is JsonObject { Count: > 0 }, "workers must select the GPU node pool");
        Assert.Equal("cuda", m.Setting(worker, "AsymCdc__Inference__ExecutionProvider"));
        Assert.StartsWith("asymcdc-silo-gpu:", (string)container["image"]!);
        Assert.Equal("kubernetes", m.Setting(worker, "AsymCdc__Silo__Clustering"));

        var frontend = m.SiloDeployment("frontend");
        Assert.False(HasGpuScheduling(frontend), "frontends must not take GPUs or GPU-pool tolerations");
        Assert.Equal("cpu", m.Setting(frontend, "AsymCdc__Inference__ExecutionProvider"));
    }

    [Theory]
    [MemberData(nameof(CpuOnly))]
    public void Cpu_only_deployments_ask_for_no_gpu_and_use_redis_clustering(string source)
    {
        var m = overlays[source];
        Assert.All(m.OfKind("Deployment"), d => Assert.False(HasGpuScheduling(d), $"{source}: {RenderedManifests.Name(d)} asks for GPU scheduling"));
        Assert.All(m.SiloDeployments(), d => Assert.Equal("cpu", m.Setting(d, "AsymCdc__Inference__ExecutionProvider")));
        Assert.All(m.SiloDeployments(), d => Assert.StartsWith("asymcdc-silo:", (string)RenderedManifests.SiloContainer(d)["image"]!));
        Assert.All(m.SiloDeployments(), d => Assert.Equal("redis", m.Setting(d, "AsymCdc__Silo__Clustering")));
    }

    [Fact]
    public void Dev_overlay_runs_one_frontend_and_a_fixed_three_workers()
    {
        var m = overlays["dev"];
        Assert.Equal(1, (int)m.SiloDeployment("frontend")["spec"]!["replicas"]!);
        Assert.Equal(3, (int)m.SiloDeployment("gpu-worker")["spec"]!["replicas"]!);
        Assert.Empty(m.OfKind("HorizontalPodAutoscaler"));
    }

    [Theory]
    [MemberData(nameof(Overlays))]
    public void Membership_table_is_the_in_cluster_redis(string overlay)
    {
        // Both `redis` and `kubernetes` clustering keep Orleans membership in Redis (the silo's
        // SiloOptionsValidator requires the connection string for either).
        var m = overlays[overlay];
        foreach (var deployment in m.SiloDeployments())
        {
            Assert.Contains(m.Setting(deployment, "AsymCdc__Silo__Clustering"), new[] { "redis", "kubernetes" });
            var connection = m.Setting(deployment, "AsymCdc__Silo__RedisConnectionString");
            Assert.False(string.IsNullOrEmpty(connection), $"{RenderedManifests.Name(deployment)}: AsymCdc__Silo__RedisConnectionString is required");
            var endpoint = connection!.Split(',')[0].Split(':');
            var service = m.Get("Service", endpoint[0]);
            Assert.Contains(service["spec"]!["ports"]!.AsArray(), p => (int)p!["port"]! == int.Parse(endpoint[1], CultureInfo.InvariantCulture));
            var redis = m.OfKind("Deployment").Single(d => RenderedManifests.Selects(service["spec"]!["selector"], RenderedManifests.PodLabels(d)));
            Assert.StartsWith("redis:", (string)RenderedManifests.Containers(redis).Single()["image"]!);
        }
    }

    /// <summary>The silo reads its models from the image (/app/models) or from a volume mounted read-only at that path.</summary>
    private static void AssertModelRepositoryIsInTheImageOrOnAReadOnlyVolume(JsonObject deployment, string? repository)
    {
        if (repository == "/app/models")
        {
            return;
        }

        var mount = (RenderedManifests.SiloContainer(deployment)["volumeMounts"]?.AsArray() ?? [])
            .SingleOrDefault(v => (string?)v!["mountPath"] == repository);
        Assert.True(mount is not null && (bool?)mount["readOnly"] == true,
            $"{RenderedManifests.Name(deployment)}: AsymCdc__Inference__ModelRepository is '{repository}', neither the image's /app/models nor a read-only volume mount");
    }

    private static bool HasGpuScheduling(JsonObject deployment)
    {
        var pod = RenderedManifests.PodSpec(deployment);
        var text = pod.ToJsonString();
        return text.Contains("nvidia.com/gpu", StringComparison.Ordinal);
    }

    // A list entry carries its index: AsymCdc__Inference__Models__0.
    [GeneratedRegex(@"^AsymCdc__([A-Za-z]+)__([A-Za-z]+)(?:__[0-9]+)?$")]
    private static partial Regex ConfigurationKey();
}
