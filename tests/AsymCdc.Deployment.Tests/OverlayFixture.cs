using System.Collections.Concurrent;

namespace AsymCdc.Deployment.Tests;

/// <summary>Renders each kustomize overlay once for all the tests of a class.</summary>
public sealed class OverlayFixture
{
    private readonly ConcurrentDictionary<string, Lazy<RenderedManifests>> _rendered = new();

    internal RenderedManifests this[string overlay] =>
        _rendered.GetOrAdd(overlay, o => new Lazy<RenderedManifests>(() => RenderedManifests.Render(o))).Value;
}
