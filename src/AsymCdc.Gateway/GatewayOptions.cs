using Microsoft.Extensions.Options;

namespace AsymCdc.Gateway;

/// <summary>Settings of the Open Inference Protocol gateway, section <c>AsymCdc:Gateway</c>.</summary>
public sealed class GatewayOptions
{
    public const string SectionName = "AsymCdc:Gateway";

    /// <summary>Most images one infer request may carry; each image is one grain call, so this bounds the
    /// fan-out a single HTTP request can cause.</summary>
    public int MaxBatchSize { get; set; } = 256;

    /// <summary>The <c>Retry-After</c> a 503 tells the caller to wait (whole seconds on the wire, rounded up).</summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Deadline of the probe prediction the default readiness check sends to the frontend.</summary>
    public TimeSpan ReadinessProbeTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a readiness answer is reused, so probes from load balancers never become load.</summary>
    public TimeSpan ReadinessCacheDuration { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>Stops the host at start-up with one line naming a bad gateway setting.</summary>
internal sealed class GatewayOptionsValidator : IValidateOptions<GatewayOptions>
{
    // A bound well above any sane request: 4096 images × 784 floats is already ~40 MB of JSON.
    internal const int MaxBatchSizeLimit = 4096;

    public ValidateOptionsResult Validate(string? name, GatewayOptions options)
    {
        List<string>? failures = null;
        if (options.MaxBatchSize is < 1 or > MaxBatchSizeLimit)
        {
            (failures ??= []).Add($"{GatewayOptions.SectionName}:MaxBatchSize is {options.MaxBatchSize}; it must be between 1 and {MaxBatchSizeLimit}.");
        }

        if (options.RetryAfter <= TimeSpan.Zero)
        {
            (failures ??= []).Add($"{GatewayOptions.SectionName}:RetryAfter is {options.RetryAfter}; it must be positive, e.g. 00:00:01.");
        }

        if (options.ReadinessProbeTimeout <= TimeSpan.Zero)
        {
            (failures ??= []).Add($"{GatewayOptions.SectionName}:ReadinessProbeTimeout is {options.ReadinessProbeTimeout}; it must be positive, e.g. 00:00:02.");
        }

        if (options.ReadinessCacheDuration < TimeSpan.Zero)
        {
            (failures ??= []).Add($"{GatewayOptions.SectionName}:ReadinessCacheDuration is {options.ReadinessCacheDuration}; it must be zero or positive.");
        }

        return failures is null ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
