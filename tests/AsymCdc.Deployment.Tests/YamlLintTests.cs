namespace AsymCdc.Deployment.Tests;

/// <summary>yamllint, with the repository's .yamllint, over every hand-written deployment YAML.</summary>
public sealed class YamlLintTests
{
    [Fact]
    public void Manifests_values_and_adapter_rules_pass_yamllint()
    {
        Assert.True(File.Exists(RepositoryLayout.PathOf(".yamllint")), ".yamllint is missing at the repository root");
        var result = ExternalTool.Run(
            "yamllint", ["--strict", "-c", ".yamllint", "-f", "parsable", "k8s", "helm/asymcdc", "deploy"],
            "install it with `apt-get install -y yamllint`");
        Assert.True(result.ExitCode == 0, result.Describe("yamllint"));
    }
}
