using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// The objects one deployment source renders (a kustomize overlay, or the Helm chart with some
/// values), with lookups the checks need.
/// </summary>
internal sealed partial class RenderedManifests
{
    public const string Namespace = "asymcdc";

    private RenderedManifests(string source, IReadOnlyList<JsonObject> objects)
    {
        Source = source;
        Objects = objects;
    }

    public string Source { get; }

    public IReadOnlyList<JsonObject> Objects { get; }

    public static RenderedManifests Kustomize(string overlay)
    {
        var result = ExternalTool.Run(
            "kubectl", ["kustomize", Path.Combine("k8s", "overlays", overlay)],
            "install kubectl (it bundles kustomize) to render the manifests");
        Assert.True(result.ExitCode == 0, result.Describe($"kubectl kustomize k8s/overlays/{overlay}"));
        return new RenderedManifests(overlay, YamlDocuments.LoadAll(result.StandardOutput));
    }

    /// <summary>
    /// An overlay with kustomize components added, as an operator adds them to their own overlay
    /// (`components: [../../components/NAME]`): a kustomization in a scratch folder that names both
    /// by relative path, since kustomize takes no absolute ones.
    /// </summary>
    public static RenderedManifests KustomizeWithComponents(string source, string overlay, params string[] components)
    {
        var scratch = Directory.CreateTempSubdirectory("asymcdc-kustomize-");
        try
        {
            string Relative(params string[] path) => Path.GetRelativePath(scratch.FullName, RepositoryLayout.PathOf(["k8s", .. path]));
            File.WriteAllText(Path.Combine(scratch.FullName, "kustomization.yaml"), string.Join('\n',
            [
                "apiVersion: kustomize.config.k8s.io/v1beta1",
                "kind: Kustomization",
                "resources:",
                $"  - {Relative("overlays", overlay)}",
                "components:",
                .. components.Select(c => $"  - {Relative("components", c)}"),
                "",
            ]));
            var result = ExternalTool.Run(
                "kubectl", ["kustomize", scratch.FullName],
                "install kubectl (it bundles kustomize) to render the manifests");
            Assert.True(result.ExitCode == 0,
                result.Describe($"kubectl kustomize of k8s/overlays/{overlay} + components {string.Join(", ", components)}"));
            return new RenderedManifests(source, YamlDocuments.LoadAll(result.StandardOutput));
        }
        finally
        {
            scratch.Delete(recursive: true);
        }
    }

    /// <summary>`helm template asymcdc helm/asymcdc -n asymcdc --set ...`: release `asymcdc` gives the overlays' names.</summary>
    public static RenderedManifests Helm(string source, params string[] settings)
    {
        var result = HelmTool.Run(["template", "asymcdc", "helm/asymcdc", "--namespace", Namespace, .. settings.SelectMany(v => new[] { "--set", v })]);
        Assert.True(result.ExitCode == 0, result.Describe($"helm template ({source})"));
        return new RenderedManifests(source, YamlDocuments.LoadAll(result.StandardOutput));
    }

    public IEnumerable<JsonObject> OfKind(string kind) =>
        Objects.Where(o => (string?)o["kind"] == kind);

    public JsonObject Get(string kind, string name) =>
        OfKind(kind).SingleOrDefault(o => Name(o) == name)
        ?? throw new Xunit.Sdk.XunitException(
            $"{Source}: no {kind} named {name}; rendered {kind}s: {string.Join(", ", OfKind(kind).Select(Name))}");

    /// <summary>The Deployments of Orleans silos (frontend and gpu-worker roles): their pods carry the Orleans labels.</summary>
    public IReadOnlyList<JsonObject> SiloDeployments() =>
        OfKind("Deployment").Where(d => PodLabels(d).ContainsKey("orleans/serviceId")).ToList();

    public JsonObject SiloDeployment(string component) =>
        SiloDeployments().SingleOrDefault(d => PodLabels(d)["app.kubernetes.io/component"] == component)
        ?? throw new Xunit.Sdk.XunitException($"{Source}: no silo Deployment with component {component}");

    public static string Name(JsonObject o) => (string)o["metadata"]!["name"]!;

    /// <summary>Where the object lands: its own namespace, or the one it is applied to (`helm -n`).</summary>
    public static string NamespaceOf(JsonObject o) => (string?)o["metadata"]!["namespace"] ?? Namespace;

    public static JsonObject PodSpec(JsonObject deployment) => deployment["spec"]!["template"]!["spec"]!.AsObject();

    public static IReadOnlyDictionary<string, string?> PodLabels(JsonObject deployment) => StringMap(
        deployment["spec"]!["template"]!["metadata"]!["labels"]);

    public static IReadOnlyDictionary<string, string?> StringMap(JsonNode? node) =>
        node is JsonObject obj
            ? obj.ToDictionary(p => p.Key, p => p.Value?.ToString())
            : new Dictionary<string, string?>();

    public static JsonObject SiloContainer(JsonObject deployment) =>
        PodSpec(deployment)["containers"]!.AsArray().Select(c => c!.AsObject())
            .SingleOrDefault(c => (string?)c["name"] == "silo")
        ?? throw new Xunit.Sdk.XunitException($"Deployment {Name(deployment)} has no container named silo");

    /// <summary>The pod volume named <paramref name="name"/>, or null.</summary>
    public static JsonObject? Volume(JsonObject deployment, string name) =>
        (PodSpec(deployment)["volumes"]?.AsArray() ?? []).Select(v => v!.AsObject())
            .SingleOrDefault(v => (string?)v["name"] == name);

    /// <summary>The silo container's mount of the volume <paramref name="name"/>, or null.</summary>
    public static JsonObject? VolumeMount(JsonObject deployment, string name) =>
        (SiloContainer(deployment)["volumeMounts"]?.AsArray() ?? []).Select(v => v!.AsObject())
            .SingleOrDefault(v => (string?)v["name"] == name);

    public static IEnumerable<JsonObject> Containers(JsonObject deployment) =>
        PodSpec(deployment)["containers"]!.AsArray().Select(c => c!.AsObject());

    /// <summary>
    /// The value a setting has inside the silo container: an `env` entry wins over the ConfigMaps
    /// named in `envFrom`, as in Kubernetes. Null when neither sets it.
    /// </summary>
    public string? Setting(JsonObject deployment, string name)
    {
        var container = SiloContainer(deployment);
        foreach (var env in container["env"]?.AsArray() ?? [])
        {
            if ((string?)env!["name"] == name && env["value"] is { } value)
            {
                return value.ToString();
            }
        }

        string? fromConfigMap = null;
        foreach (var source in container["envFrom"]?.AsArray() ?? [])
        {
            if (source!["configMapRef"]?["name"] is { } mapName)
            {
                var data = Get("ConfigMap", (string)mapName!)["data"];
                if (data?[name] is { } value)
                {
                    fromConfigMap = value.ToString();
                }
            }
        }

        return fromConfigMap;
    }

    /// <summary>The `fieldRef.fieldPath` an env var of the silo container is taken from, or null.</summary>
    public static string? FieldRef(JsonObject deployment, string name) =>
        (string?)(SiloContainer(deployment)["env"]?.AsArray() ?? [])
            .FirstOrDefault(e => (string?)e!["name"] == name)?["valueFrom"]?["fieldRef"]?["fieldPath"];

    /// <summary>Every env var name the silo container gets, from `env` and from its ConfigMaps.</summary>
    public IEnumerable<string> SettingNames(JsonObject deployment)
    {
        var container = SiloContainer(deployment);
        foreach (var env in container["env"]?.AsArray() ?? [])
        {
            yield return (string)env!["name"]!;
        }

        foreach (var source in container["envFrom"]?.AsArray() ?? [])
        {
            if (source!["configMapRef"]?["name"] is { } mapName
                && Get("ConfigMap", (string)mapName!)["data"] is JsonObject data)
            {
                foreach (var (key, _) in data)
                {
                    yield return key;
                }
            }
        }
    }

    /// <summary>The container port number behind a Service or probe target (a number or a port name).</summary>
    public static int ContainerPort(JsonObject container, JsonNode target)
    {
        if (target.GetValueKind() == System.Text.Json.JsonValueKind.Number)
        {
            return (int)target;
        }

        var name = (string)target!;
        var port = (container["ports"]?.AsArray() ?? []).FirstOrDefault(p => (string?)p!["name"] == name)
            ?? throw new Xunit.Sdk.XunitException($"container {(string?)container["name"]} has no port named {name}");
        return (int)port!["containerPort"]!;
    }

    public static bool Selects(JsonNode? matchLabels, IReadOnlyDictionary<string, string?> podLabels) =>
        matchLabels is JsonObject selector && selector.Count > 0
        && selector.All(p => podLabels.TryGetValue(p.Key, out var v) && v == p.Value?.ToString());

    /// <summary>`metadata.labels['orleans/serviceId']` → `orleans/serviceId`.</summary>
    public static string? LabelOfFieldPath(string? fieldPath) =>
        fieldPath is null ? null : LabelFieldPath().Match(fieldPath) is { Success: true } m ? m.Groups[1].Value : null;

    [GeneratedRegex(@"^metadata\.labels\['([^']+)'\]$")]
    private static partial Regex LabelFieldPath();
}
