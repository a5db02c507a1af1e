using AsymCdc.Hosting;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// The image, the Helm chart and the kustomize manifests set exactly the runtime settings of
/// <see cref="SiloRuntimeEnvironment"/>, the list <c>cluster up</c> and <c>chaos</c> start their silos with:
/// a drill measures what ships.
/// </summary>
public sealed class SiloRuntimeEnvironmentTests(OverlayFixture overlays) : IClassFixture<OverlayFixture>
{
    private static IEnumerable<string> Shipped => SiloRuntimeEnvironment.Variables.Select(v => $"{v.Key}={v.Value}").Order();

    [Theory]
    [InlineData("dev")]
    [InlineData("gpu")]
    [InlineData("helm")]
    [InlineData("helm-cpu")]
    public void Every_silo_deployment_sets_exactly_the_shipped_runtime_settings(string source)
    {
        var rendered = overlays[source];
        Assert.NotEmpty(rendered.SiloDeployments());
        Assert.All(rendered.SiloDeployments(), deployment =>
        {
            var settings = rendered.SettingNames(deployment).Where(SiloRuntimeEnvironment.IsRuntimeSetting).Distinct()
                .Select(name => $"{name}={rendered.Setting(deployment, name)}");
            Assert.Equal(Shipped, settings.Order());
        });
    }

    [Theory]
    [MemberData(nameof(DockerfileTests.Dockerfiles), MemberType = typeof(DockerfileTests))]
    public void Every_image_sets_exactly_the_shipped_runtime_settings(string dockerfile)
    {
        var runtime = DockerfileTests.Parse(RepositoryLayout.ReadText("src", "AsymCdc.Silo", dockerfile));
        // The final stage is the image.
        var image = runtime.Skip(runtime.ToList().FindLastIndex(i => i.Keyword == "FROM"));
        var settings = image.Where(i => i.Keyword == "ENV")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Select(pair => pair.Split('=', 2))
            .Where(pair => pair.Length == 2 && SiloRuntimeEnvironment.IsRuntimeSetting(pair[0]))
            .Select(pair => $"{pair[0]}={pair[1]}");
        Assert.Equal(Shipped, settings.Order());
    }
}
