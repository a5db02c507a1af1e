using AsymCdc.Abstractions;
using AsymCdc.Grains;
using Microsoft.Extensions.Options;

namespace AsymCdc.Hosting;

/// <summary>Checks <see cref="SiloOptions"/>: one line per problem, naming the key and what is allowed.</summary>
public sealed class SiloOptionsValidator : IValidateOptions<SiloOptions>
{
    public ValidateOptionsResult Validate(string? name, SiloOptions options)
    {
        var failures = new List<string>();
        const string s = SiloOptions.SectionName;
        if (options.RoleList.Count == 0)
        {
            failures.Add($"{s}:Roles is empty; give one or both of: {string.Join(", ", SiloRoles.All)}");
        }

        foreach (var role in options.RoleList)
        {
            if (!SiloRoles.All.Contains(role, StringComparer.OrdinalIgnoreCase))
            {
                failures.Add($"{s}:Roles has unknown role '{role}'; expected one or both of: {string.Join(", ", SiloRoles.All)}");
            }
        }

        if (!SiloOptions.ClusteringProviders.Contains(options.Clustering, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"{s}:Clustering = '{options.Clustering}' is not supported; expected one of: {string.Join(", ", SiloOptions.ClusteringProviders)}");
        }

        var needsRedis = string.Equals(options.Clustering, SiloOptions.Redis, StringComparison.OrdinalIgnoreCase)
            || string.Equals(options.Clustering, SiloOptions.Kubernetes, StringComparison.OrdinalIgnoreCase);
        if (needsRedis && string.IsNullOrWhiteSpace(options.RedisConnectionString))
        {
            failures.Add($"{s}:RedisConnectionString is required when {s}:Clustering = {options.Clustering} (membership lives in Redis), e.g. 'redis:6379'");
        }

        CheckPort(failures, "SiloPort", options.SiloPort);
        CheckPort(failures, "GatewayPort", options.GatewayPort);
        CheckPort(failures, "HttpPort", options.HttpPort);
        if (options.PrimarySiloPort is { } primary)
        {
            CheckPort(failures, "PrimarySiloPort", primary);
        }

        if (options.GrpcPort != 0)
        {
            CheckPort(failures, "GrpcPort", options.GrpcPort, offAllowed: true);
        }

        if (options.SiloPort == options.GatewayPort || options.SiloPort == options.HttpPort || options.GatewayPort == options.HttpPort)
        {
            failures.Add($"{s}: SiloPort ({options.SiloPort}), GatewayPort ({options.GatewayPort}) and HttpPort ({options.HttpPort}) must differ");
        }
        else if (options.GrpcPort != 0 && (options.GrpcPort == options.SiloPort || options.GrpcPort == options.GatewayPort || options.GrpcPort == options.HttpPort))
        {
            failures.Add($"{s}:GrpcPort ({options.GrpcPort}) must differ from SiloPort ({options.SiloPort}), GatewayPort ({options.GatewayPort}) and HttpPort ({options.HttpPort}); 0 turns gRPC off");
        }

        if (string.IsNullOrWhiteSpace(options.ServiceId) || string.IsNullOrWhiteSpace(options.ClusterId))
        {
            failures.Add($"{s}:ServiceId and {s}:ClusterId must not be empty");
        }

        if (options.DrainTimeout < TimeSpan.Zero)
        {
            failures.Add($"{s}:DrainTimeout = {options.DrainTimeout} is negative; give a time such as 00:00:20");
        }

        if (options.AdvertisedAddress is { } advertised && !System.Net.IPAddress.TryParse(advertised, out _))
        {
            failures.Add($"{s}:AdvertisedAddress = '{advertised}' is not an IP address; give one such as 10.0.0.5, or leave it unset");
        }

        if (options.LeaveQuietPeriod < TimeSpan.Zero)
        {
            // Longer than DrainTimeout is allowed: the drain timeout bounds the whole leave.
            failures.Add($"{s}:LeaveQuietPeriod = {options.LeaveQuietPeriod} is negative; give a time such as 00:00:01");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    private static void CheckPort(List<string> failures, string key, int port, bool offAllowed = false)
    {
        if (port is < 1 or > 65535)
        {
            failures.Add($"{SiloOptions.SectionName}:{key} = {port} is not a TCP port (1..65535{(offAllowed ? ", or 0 for off" : "")})");
        }
    }
}

/// <summary>Checks <see cref="ServingOptions"/>: k in 2..4, a known default mode, sane times.</summary>
public sealed class ServingOptionsValidator : IValidateOptions<ServingOptions>
{
    public const int MinK = 2;
    public const int MaxK = 4;

    public ValidateOptionsResult Validate(string? name, ServingOptions options)
    {
        var failures = new List<string>();
        const string s = ServingOptions.SectionName;
        if (options.K is < MinK or > MaxK)
        {
            failures.Add($"{s}:K = {options.K} is outside {MinK}..{MaxK}; a parity group holds {MinK} to {MaxK} data queries");
        }

        if (!ServingModes.TryParse(options.DefaultMode, out _))
        {
            failures.Add($"{s}:DefaultMode = '{options.DefaultMode}' is not a serving mode; expected one of: {string.Join(", ", ServingModes.All.Select(m => m.ToName()))}");
        }

        if (options.GroupWindow <= TimeSpan.Zero || options.GroupWindow > TimeSpan.FromSeconds(1))
        {
            failures.Add($"{s}:GroupWindow = {options.GroupWindow} must be positive and at most 1 s (default 00:00:00.005)");
        }

        if (options.RequestTimeout <= TimeSpan.Zero)
        {
            failures.Add($"{s}:RequestTimeout = {options.RequestTimeout} must be positive (default 00:00:05)");
        }

        if (options.StragglerDeadline <= TimeSpan.Zero || options.StragglerDeadline >= options.RequestTimeout)
        {
            failures.Add($"{s}:StragglerDeadline = {options.StragglerDeadline} must be positive and shorter than RequestTimeout ({options.RequestTimeout})");
        }

        if (options.SuspectProbation <= TimeSpan.Zero)
        {
            failures.Add($"{s}:SuspectProbation = {options.SuspectProbation} must be positive (default 00:00:02)");
        }

        if (options.NewWorkerParityOnly < TimeSpan.Zero)
        {
            failures.Add($"{s}:NewWorkerParityOnly = {options.NewWorkerParityOnly} must be 0 (off) or positive (default 00:00:02)");
        }

        if (options.StragglerDeadlineMedianFactor < 0 || double.IsNaN(options.StragglerDeadlineMedianFactor))
        {
            failures.Add($"{s}:StragglerDeadlineMedianFactor = {options.StragglerDeadlineMedianFactor} must be 0 (off) or positive, e.g. 3");
        }

        if (!string.Equals(options.Deadline, ServingOptions.FixedDeadline, StringComparison.OrdinalIgnoreCase) && !options.IsAdaptiveDeadline
            && !options.IsQuantileDeadline)
        {
            failures.Add($"{s}:Deadline = '{options.Deadline}' is unknown; expected {ServingOptions.FixedDeadline}, {ServingOptions.AdaptiveDeadline} or {ServingOptions.QuantileDeadline}");
        }

        if (options.TriggerQuantile is <= 0 or >= 1 || double.IsNaN(options.TriggerQuantile) || options.TriggerFactor <= 0 || double.IsNaN(options.TriggerFactor))
        {
            failures.Add($"{s}:TriggerQuantile = {options.TriggerQuantile} must be in (0, 1) and TriggerFactor = {options.TriggerFactor} positive (defaults 0.9 and 1)");
        }

        if (options.RedundancyBudget is { } budget && (budget < 0 || double.IsNaN(budget)))
        {
            failures.Add($"{s}:RedundancyBudget = {budget} must be 0 or more extra calls per query (default 1/k)");
        }

        if (options.AutoMinAgreement is < 0 or > 1 || double.IsNaN(options.AutoMinAgreement))
        {
            failures.Add($"{s}:AutoMinAgreement = {options.AutoMinAgreement} must be a fraction in [0, 1] (default {AsymCdc.Serving.AutoCoding.DefaultMinAgreement})");
        }

        if (options.SlowWorkerFactor is < 0 or (> 0 and <= 1) || double.IsNaN(options.SlowWorkerFactor))
        {
            failures.Add($"{s}:SlowWorkerFactor = {options.SlowWorkerFactor} must be 0 (off) or above 1, e.g. 3");
        }

        if (options.AdaptiveDeadlineQuantile is <= 0 or >= 1 || double.IsNaN(options.AdaptiveDeadlineQuantile))
        {
            failures.Add($"{s}:AdaptiveDeadlineQuantile = {options.AdaptiveDeadlineQuantile} must be in (0, 1), e.g. 0.95");
        }

        if (options.AdaptiveDeadlineFloor <= TimeSpan.Zero || options.AdaptiveDeadlineCap < options.AdaptiveDeadlineFloor
            || options.AdaptiveDeadlineCap >= options.RequestTimeout)
        {
            failures.Add($"{s}:AdaptiveDeadlineFloor = {options.AdaptiveDeadlineFloor} and AdaptiveDeadlineCap = {options.AdaptiveDeadlineCap} "
                + $"must satisfy 0 < floor <= cap < RequestTimeout ({options.RequestTimeout})");
        }

        if (options.AdaptiveDeadlineWindow <= TimeSpan.Zero)
        {
            failures.Add($"{s}:AdaptiveDeadlineWindow = {options.AdaptiveDeadlineWindow} must be positive (default 00:00:10)");
        }

        if (options.ShadowSampleRate is < 0 or > 1 || double.IsNaN(options.ShadowSampleRate))
        {
            failures.Add($"{s}:ShadowSampleRate = {options.ShadowSampleRate} must be a fraction in [0, 1] (e.g. 0.1 checks one reconstruction in ten)");
        }

        if (options.MaxInFlight < 1)
        {
            failures.Add($"{s}:MaxInFlight = {options.MaxInFlight} must be at least 1");
        }

        if (options.GroupShards < 1)
        {
            failures.Add($"{s}:GroupShards = {options.GroupShards} must be at least 1");
        }

        if (options.HedgePercentile is <= 0 or >= 1)
        {
            failures.Add($"{s}:HedgePercentile = {options.HedgePercentile} must be in (0, 1), e.g. 0.95");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>Checks <see cref="StragglerOptions"/>: a rate in [0, 1] and non-negative delays.</summary>
public sealed class StragglerOptionsValidator : IValidateOptions<StragglerOptions>
{
    public ValidateOptionsResult Validate(string? name, StragglerOptions options)
    {
        var failures = new List<string>();
        const string s = StragglerOptions.SectionName;
        if (options.Rate is < 0 or > 1 || double.IsNaN(options.Rate))
        {
            failures.Add($"{s}:Rate = {options.Rate} must be a fraction in [0, 1] (e.g. 0.05 for 5% of worker calls)");
        }

        if (options.Delay < TimeSpan.Zero)
        {
            failures.Add($"{s}:Delay = {options.Delay} must not be negative");
        }

        if (options.SiloSlowdown < TimeSpan.Zero)
        {
            failures.Add($"{s}:SiloSlowdown = {options.SiloSlowdown} must not be negative");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
