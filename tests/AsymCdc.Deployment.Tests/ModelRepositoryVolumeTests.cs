using System.Text.Json.Nodes;
using AsymCdc.Inference;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// The operator's own model repository: the chart's `models.volume`, `models.mountPath` and `models.load`,
/// and k8s/components/models. By default every silo serves the models baked into the image; with a volume,
/// every silo (frontends run decoders, workers classifiers and parity models) mounts the same repository
/// read-only and reads it from there (docs/OPERATIONS.md, "Your own models").
/// </summary>
public sealed class ModelRepositoryVolumeTests(OverlayFixture overlays) : IClassFixture<OverlayFixture>
{
    private const string ImageRepository = "/app/models";
    private const string MountPath = "/models";

    public static TheoryData<string> Defaults => new() { "dev", "gpu", "helm", "helm-cpu" };

    public static TheoryData<string> WithVolume => new() { "helm-models", "gpu-models" };

    [Theory]
    [MemberData(nameof(Defaults))]
    public void By_default_every_silo_serves_the_models_in_the_image(string source)
    {
        var m = overlays[source];
        Assert.All(m.SiloDeployments(), d =>
        {
            Assert.Equal(ImageRepository, m.Setting(d, "AsymCdc__Inference__ModelRepository"));
            Assert.Null(RenderedManifests.Volume(d, "models"));
            Assert.Null(RenderedManifests.VolumeMount(d, "models"));
            Assert.DoesNotContain(m.SettingNames(d), n => n.StartsWith("AsymCdc__Inference__Models", StringComparison.Ordinal));
        });
    }

    [Theory]
    [MemberData(nameof(WithVolume))]
    public void Every_silo_mounts_the_repository_volume_read_only_and_reads_it(string source)
    {
        var m = overlays[source];
        Assert.Equal(2, m.SiloDeployments().Count);
        foreach (var deployment in m.SiloDeployments())
        {
            var name = RenderedManifests.Name(deployment);
            var volume = RenderedManifests.Volume(deployment, "models")
                ?? throw new Xunit.Sdk.XunitException($"{source}: {name} has no volume named models");
            Assert.Equal(OverlayFixture.ModelsClaim, (string?)volume["persistentVolumeClaim"]?["claimName"]);
            Assert.True((bool?)volume["persistentVolumeClaim"]?["readOnly"] == true, $"{source}: {name}: the claim must be read-only");

            var mount = RenderedManifests.VolumeMount(deployment, "models")
                ?? throw new Xunit.Sdk.XunitException($"{source}: {name}: the silo container does not mount the models volume");
            Assert.Equal(MountPath, (string?)mount["mountPath"]);
            Assert.True((bool?)mount["readOnly"] == true, $"{source}: {name}: the models mount must be read-only");
            Assert.Equal(MountPath, m.Setting(deployment, "AsymCdc__Inference__ModelRepository"));

            // The container keeps its read-only root filesystem; the scratch volume stays where it was.
            var container = RenderedManifests.SiloContainer(deployment);
            Assert.True((bool?)container["securityContext"]?["readOnlyRootFilesystem"] == true, $"{source}: {name}: readOnlyRootFilesystem");
            Assert.Equal("/tmp", (string?)RenderedManifests.VolumeMount(deployment, "tmp")?["mountPath"]);
        }
    }

    [Fact]
    public void The_chart_points_its_config_map_at_the_mount()
    {
        var m = overlays["helm-models"];
        var data = m.Get("ConfigMap", "asymcdc")["data"]!;
        Assert.Equal(MountPath, (string?)data["AsymCdc__Inference__ModelRepository"]);
    }

    [Fact]
    public void Models_load_binds_as_the_silo_binds_its_model_list()
    {
        var m = overlays["helm-models"];
        var frontend = m.SiloDeployment("frontend");
        Assert.Equal("fmnist-inn", m.Setting(frontend, "AsymCdc__Inference__Models__0"));
        Assert.Equal("fmnist-compact-k2", m.Setting(frontend, "AsymCdc__Inference__Models__1"));

        // The environment configuration provider maps `__` to `:`; bind the settings through the silo's own
        // registration, with its validator, as every silo of the release would.
        Assert.All(m.SiloDeployments(), d => Assert.Equal(["fmnist-inn", "fmnist-compact-k2"], BoundInferenceOptions(m, d).ModelNames()));
        Assert.Empty(BoundInferenceOptions(overlays["helm"], overlays["helm"].SiloDeployment("gpu-worker")).ModelNames());
        Assert.Equal(MountPath, BoundInferenceOptions(m, frontend).ModelRepository);
    }

    [Fact]
    public void Another_mount_path_moves_mount_and_setting_together()
    {
        var m = RenderedManifests.Helm("helm-models-path",
            "models.volume.nfs.server=nfs.example", "models.volume.nfs.path=/exports/models", "models.mountPath=/srv/models");
        Assert.All(m.SiloDeployments(), d =>
        {
            Assert.Equal("nfs.example", (string?)RenderedManifests.Volume(d, "models")?["nfs"]?["server"]);
            Assert.Equal("/srv/models", (string?)RenderedManifests.VolumeMount(d, "models")?["mountPath"]);
            Assert.Equal("/srv/models", m.Setting(d, "AsymCdc__Inference__ModelRepository"));
        });
    }

    [Theory]
    [InlineData("models")]
    [InlineData("./models")]
    [InlineData("/")]
    [InlineData("/models/")]
    [InlineData("")]
    public void Schema_refuses_a_mount_path_that_is_not_a_plain_absolute_path(string path)
    {
        var values = HelmChartTests.DefaultValues();
        values["models"]!["mountPath"] = path;
        Assert.Contains("/models/mountPath", HelmChartTests.Errors(values));
    }

    [Theory]
    [InlineData("-fmnist")]
    [InlineData(".hidden")]
    [InlineData("digits mlp")]
    [InlineData("digits-mlp,fmnist")]
    [InlineData("../fmnist")]
    [InlineData("")]
    public void Schema_refuses_a_bad_model_name(string name)
    {
        var values = HelmChartTests.DefaultValues();
        values["models"]!["load"] = new JsonArray("fmnist-inn", name);
        Assert.Contains("/models/load/1", HelmChartTests.Errors(values));
    }

    [Fact]
    public void Schema_takes_any_volume_source_and_model_names_and_refuses_a_name_twice()
    {
        var values = HelmChartTests.DefaultValues();
        values["models"]!["volume"] = new JsonObject { ["image"] = new JsonObject { ["reference"] = "registry.example/models:1" } };
        values["models"]!["mountPath"] = "/app/models";
        values["models"]!["load"] = new JsonArray("fmnist-inn", "fmnist-inn-inverse", "digits-mlp-compact-k2", "m_1.0");
        Assert.Empty(HelmChartTests.Errors(values));

        values["models"]!["load"] = new JsonArray("fmnist-inn", "fmnist-inn");
        Assert.Contains("/models/load", HelmChartTests.Errors(values));
        values["models"]!["volume"] = JsonValue.Create("my-models");
        Assert.Contains("/models/volume", HelmChartTests.Errors(values));
    }

    [Theory]
    [InlineData("models.mountPath=models", "models.mountPath")]
    [InlineData("models.load={-fmnist}", "models.load")]
    [InlineData("models.volume.name=mine", "drop its name")]
    [InlineData("models.mountPath=/tmp", "models.mountPath (/tmp) would hide the silo's scratch volume")]
    [InlineData("models.mountPath=/app", "models.mountPath (/app) would hide the silo's application")]
    public void Helm_refuses_a_bad_repository_volume_and_names_it(string setting, string named)
    {
        var result = HelmTool.Run(["template", "asymcdc", "helm/asymcdc",
            "--set", $"models.volume.persistentVolumeClaim.claimName={OverlayFixture.ModelsClaim}", "--set", setting]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains(named, result.StandardError);
    }

    private static InferenceOptions BoundInferenceOptions(RenderedManifests m, JsonObject deployment)
    {
        var settings = m.SettingNames(deployment)
            .Where(n => n.StartsWith(InferenceOptions.SectionName.Replace(":", "__", StringComparison.Ordinal), StringComparison.Ordinal))
            .Select(n => KeyValuePair.Create(n.Replace("__", ":", StringComparison.Ordinal), m.Setting(deployment, n)));
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        using var services = new ServiceCollection().AddAsymCdcInference(configuration).BuildServiceProvider();
        return services.GetRequiredService<IOptions<InferenceOptions>>().Value;
    }
}
