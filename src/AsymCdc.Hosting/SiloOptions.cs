using AsymCdc.Grains;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace AsymCdc.Hosting;

/// <summary>How this silo joins the cluster and what it does (section <c>AsymCdc:Silo</c>).</summary>
public sealed class SiloOptions
{
    public const string SectionName = "AsymCdc:Silo";
    public const string Localhost = "localhost";
    public const string Redis = "redis";
    public const string Kubernetes = "kubernetes";

    public static readonly IReadOnlyList<string> ClusteringProviders = [Localhost, Redis, Kubernetes];

    /// <summary>Comma-separated roles: <c>frontend</c>, <c>gpu-worker</c>.</summary>
    public string Roles { get; set; } = $"{SiloRoles.Frontend},{SiloRoles.GpuWorker}";

    public string Clustering { get; set; } = Localhost;

    public string? RedisConnectionString { get; set; }

    public string ServiceId { get; set; } = "asymcdc";

    public string ClusterId { get; set; } = "dev";

    public int SiloPort { get; set; } = 11111;

    public int GatewayPort { get; set; } = 30000;

    /// <summary>Localhost clustering: the primary silo's port (defaults to this silo's, i.e. this silo is primary).</summary>
    public int? PrimarySiloPort { get; set; }

    public int HttpPort { get; set; } = 8080;

    /// <summary>A frontend's KServe v2 gRPC endpoint (HTTP/2 cleartext, prior knowledge: gRPC cannot share the HTTP/1.1
    /// port). 0 turns it off.</summary>
    public int GrpcPort { get; set; } = 8081;

    /// <summary>Redis clustering: the IP address this silo gives its peers and clients (null: Orleans picks one of this
    /// machine's addresses, which on a host with container bridges may be a bridge's). Kubernetes clustering uses the
    /// pod's IP.</summary>
    public string? AdvertisedAddress { get; set; }

    /// <summary>The longest a leaving silo (SIGTERM) serves on: until its peers and clients have moved away and its calls in
    /// flight are answered (<see cref="GracefulLeave"/>). Keep it below Kubernetes' terminationGracePeriodSeconds.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>A leaving silo serves on until no work has arrived for this long (the other silos and the clients have
    /// seen it leave; clients look every second), then refuses what still comes.</summary>
    public TimeSpan LeaveQuietPeriod { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A frontend, once active, serves a few queries of its own before it reports ready, so that clients sent to a
    /// restarted frontend do not pay for its cold serving path (<see cref="FrontendWarmup"/>). Off: its first client
    /// calls do (about 110 ms together on 16 cores).
    /// </summary>
    public bool WarmUpServingPath { get; set; } = true;

    public IReadOnlyList<string> RoleList =>
        Roles.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    public bool HasRole(string role) => RoleList.Contains(role, StringComparer.OrdinalIgnoreCase);

    /// <summary>Binds and validates the section; a bad setting throws <see cref="OptionsValidationException"/>
    /// naming the key. Used before the host is built, since clustering and ports depend on it.</summary>
    public static SiloOptions FromConfiguration(IConfiguration configuration)
    {
        var options = new SiloOptions();
        configuration.GetSection(SectionName).Bind(options);
        var result = new SiloOptionsValidator().Validate(null, options);
        return result.Failed
            ? throw new OptionsValidationException(SectionName, typeof(SiloOptions), result.Failures)
            : options;
    }
}
