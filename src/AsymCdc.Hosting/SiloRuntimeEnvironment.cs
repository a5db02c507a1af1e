namespace AsymCdc.Hosting;

/// <summary>
/// The .NET runtime settings (<c>DOTNET_*</c> environment variables) a silo ships with. The image (Dockerfile
/// <c>ENV</c>), the Helm chart and the kustomize manifests set exactly these, and <c>cluster up</c> and <c>chaos</c>
/// start their silos with exactly these, so that a drill measures what ships (the deployment tests hold all four to
/// this list). A setting belongs here only when it helps a deployed silo, not only a drill on shared cores.
/// </summary>
/// <remarks>
/// Empty: the .NET defaults (server GC with dynamic adaptation, tiered PGO, the thread pool's spin) on a ReadyToRun
/// publish. Cold failure paths are answered by ReadyToRun, not by runtime settings.
/// </remarks>
public static class SiloRuntimeEnvironment
{
    /// <summary>The prefix of the runtime's own settings.</summary>
    public const string Prefix = "DOTNET_";

    /// <summary>Each setting and its value.</summary>
    public static IReadOnlyDictionary<string, string> Variables { get; } = new Dictionary<string, string>();

    /// <summary>Whether <paramref name="name"/> is a runtime setting, as opposed to where .NET is installed.</summary>
    public static bool IsRuntimeSetting(string name) =>
        name.StartsWith(Prefix, StringComparison.Ordinal) && name is not ("DOTNET_ROOT" or "DOTNET_RUNNING_IN_CONTAINER");
}
