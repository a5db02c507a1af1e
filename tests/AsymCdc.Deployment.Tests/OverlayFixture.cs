using System.Collections.Concurrent;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// Renders each deployment source once for all the tests of a class: the kustomize overlays
/// `dev` and `gpu`, the Helm chart with its defaults (`helm`), and the chart on CPU workers with
/// `redis` clustering (`helm-cpu`).
/// </summary>
public sealed class OverlayFixture
{
    private readonly ConcurrentDictionary<string, Lazy<RenderedManifests>> _rendered = new();

    internal RenderedManifests this[string source] =>
        _rendered.GetOrAdd(source, s => new Lazy<RenderedManifests>(() => Render(s))).Value;

    private static RenderedManifests Render(string source) => source switch
    {
        "helm" => RenderedManifests.Helm(source),
        "helm-cpu" => RenderedManifests.Helm(source,
            "worker.gpu.enabled=false", "worker.executionProvider=cpu", "silo.clustering=redis"),
        _ => RenderedManifests.Kustomize(source),
    };
}
