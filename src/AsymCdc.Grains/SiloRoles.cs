namespace AsymCdc.Grains;

/// <summary>Silo roles, published through Orleans silo metadata so every silo can tell which silos run models.</summary>
public static class SiloRoles
{
    public const string Frontend = "frontend";
    public const string GpuWorker = "gpu-worker";

    /// <summary>Silo-metadata key prefix: a silo with role r publishes <c>asymcdc.role.r = true</c>.</summary>
    public const string MetadataPrefix = "asymcdc.role.";

    public static string MetadataKey(string role) => MetadataPrefix + role;

    public static readonly IReadOnlyList<string> All = [Frontend, GpuWorker];
}
