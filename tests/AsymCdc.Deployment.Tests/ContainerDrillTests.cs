using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// The container drill (deploy/containers.sh), the image scripts (deploy/images/) and the device scripts (deploy/device/)
/// without podman: the scripts parse,
/// the drill's containers get exactly the environment the Helm chart gives its silos, and docs/OPERATIONS.md shows a
/// drill that lost nothing. The drill itself builds images and runs containers, which is too slow for the test suite.
/// </summary>
public sealed partial class ContainerDrillTests(OverlayFixture overlays) : IClassFixture<OverlayFixture>
{
    public static TheoryData<string> Scripts => new()
    {
        "deploy/containers.sh",
        "deploy/images/stand-ins.sh",
        "deploy/images/build.sh",
        "deploy/images/podman-flags.sh",
        "deploy/device/pack.sh",
        "deploy/device/bench-cuda.sh",
    };

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Script_parses(string script)
    {
        var result = ExternalTool.Run("bash", ["-n", script], "bash is needed to check the deployment scripts");
        Assert.True(result.ExitCode == 0, result.Describe($"bash -n {script}"));
    }

    [Fact]
    public void Drill_containers_get_exactly_the_charts_silo_environment()
    {
        // `containers.sh env DIR` writes the env files `up` starts the containers with, rendered from the chart
        // with the values the `helm-cpu` rendering uses (CPU workers, redis clustering).
        var dir = Directory.CreateTempSubdirectory("asymcdc-drill-env-").FullName;
        try
        {
            var result = ExternalTool.Run("bash", ["deploy/containers.sh", "env", dir], "bash, python3 (PyYAML) and helm are needed", TimeSpan.FromMinutes(5));
            Assert.True(result.ExitCode == 0, result.Describe("deploy/containers.sh env"));
            var chart = overlays["helm-cpu"];
            foreach (var (file, component) in new[] { ("asymcdc-frontend-1", "frontend"), ("asymcdc-worker-1", "gpu-worker") })
            {
                var env = File.ReadAllLines(Path.Combine(dir, file + ".env")).Where(l => l.Length > 0)
                    .Select(l => l.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
                var deployment = chart.SiloDeployment(component);
                var expected = chart.SettingNames(deployment).Distinct().ToList();
                Assert.Equal(expected.Order(), env.Keys.Order());
                var labels = RenderedManifests.PodLabels(deployment);
                foreach (var name in expected)
                {
                    var want = RenderedManifests.FieldRef(deployment, name) switch
                    {
                        null => chart.Setting(deployment, name),
                        "metadata.name" => file,
                        "metadata.namespace" => RenderedManifests.Namespace,
                        "status.podIP" => env[name], // the container's address, assigned by the drill
                        var path => labels[RenderedManifests.LabelOfFieldPath(path)!],
                    };
                    Assert.True(want == env[name], $"{file}: {name}={env[name]}, but the chart sets {want}");
                }

                Assert.Equal("redis", env["AsymCdc__Silo__Clustering"]);
                Assert.Equal(component, env["AsymCdc__Silo__Roles"]);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Drill_keeps_the_charts_security_context_and_fails_on_a_lost_query()
    {
        var script = RepositoryLayout.ReadText("deploy", "containers.sh");
        foreach (var flag in new[] { "--user 1654:1654", "--read-only", "--tmpfs /tmp", "--cap-drop ALL", "--security-opt no-new-privileges" })
        {
            Assert.Contains(flag, script);
        }

        Assert.Contains("podman_ kill", script);
        Assert.Contains("podman_ start", script);
        Assert.Matches(@"\.lost' <<<""\$summary""\)"" != 0", script);
    }

    [Fact]
    public void Cuda_stand_in_says_it_has_no_cuda()
    {
        var script = RepositoryLayout.ReadText("deploy", "images", "stand-ins.sh");
        Assert.Contains("NO CUDA OR cuDNN LIBRARIES", script);
        // The stand-in keeps the official tag, so the build output names the base it replaces.
        var gpu = DockerfileTests.GlobalArguments(DockerfileTests.Parse(RepositoryLayout.ReadText("src", "AsymCdc.Silo", "Dockerfile.gpu")));
        Assert.Contains($"cuda_tag=\"{gpu["CUDA_IMAGE"]!.Split(':')[1]}\"", script);
    }

    [Fact]
    public void Operations_guide_shows_a_drill_that_lost_nothing()
    {
        var guide = RepositoryLayout.ReadText("docs", "OPERATIONS.md");
        Assert.Contains("deploy/containers.sh test", guide);
        var summary = DrillSummary().Match(guide);
        Assert.True(summary.Success, "docs/OPERATIONS.md shows no JSON summary of deploy/containers.sh test");
        var json = JsonNode.Parse(summary.Value)!.AsObject();
        Assert.Equal(0, (int)json["lost"]!);
        Assert.True((int)json["answered"]! > 0);
        Assert.Equal(JsonValueKind.Object, json["ready_s"]!.GetValueKind());
        Assert.True((double)json["image_size_mb"]! > 0);
    }

    [GeneratedRegex(@"\{""mode"":[^\n]*""lost"":[^\n]*\}")]
    private static partial Regex DrillSummary();
}
