using System.Collections.Concurrent;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// Renders each deployment source once for all the tests of a class: the kustomize overlays
/// `dev` and `gpu`; the Helm chart with its defaults (`helm`) and on CPU workers with `redis`
/// clustering (`helm-cpu`); and both forms serving a model repository volume, the chart with
/// `models.volume` and `models.load` (`helm-models`) and the gpu overlay with k8s/components/models
/// (`gpu-models`).
/// </summary>
public sealed class OverlayFixture
{
    /// <summary>The PersistentVolumeClaim of the model repository in `helm-models` and k8s/components/models.</summary>
    internal const string ModelsClaim = "asymcdc-models";

    private readonly ConcurrentDictionary<string, Lazy<RenderedManifests>> _rendered = new();

    internal RenderedManifests this[string source] =>
        _rendered.GetOrAdd(source, s => new Lazy<RenderedManifests>(() => Render(s))).Value;

    private static RenderedManifests Render(string source) => source switch
    {
        "helm" => RenderedManifests.Helm(source),
        "helm-cpu" => RenderedManifests.Helm(source,
            "worker.gpu.enabled=false", "worker.executionProvider=cpu", "silo.clustering=redis"),
        "helm-models" => RenderedManifests.Helm(source,
            $"models.volume.persistentVolumeClaim.claimName={ModelsClaim}", "models.volume.persistentVolumeClaim.readOnly=true",
            "models.load={fmnist-inn,fmnist-compact-k2}"),
        "gpu-models" => RenderedManifests.KustomizeWithComponents(source, "gpu", "models"),
        _ => RenderedManifests.Kustomize(source),
    };
}
