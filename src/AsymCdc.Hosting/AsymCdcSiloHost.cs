using AsymCdc.Inference;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Runtime;

namespace AsymCdc.Hosting;

public static class AsymCdcSiloHost
{
    /// <summary>
    /// Configures this host as an AsymCDC silo from <c>AsymCdc:Silo</c>: clustering (localhost, Redis or Kubernetes)
    /// and roles (frontend, gpu-worker). The silo options are validated here, before anything starts, because
    /// clustering and ports depend on them: a bad setting throws an <see cref="Microsoft.Extensions.Options.OptionsValidationException"/>
    /// naming the key.
    /// </summary>
    public static SiloOptions AddAsymCdcSilo(this IHostApplicationBuilder builder)
    {
        var options = SiloOptions.FromConfiguration(builder.Configuration);
        // Registered before Orleans so that its start-up (hosted services start in order) loads and warms the models
        // before the silo joins: a silo that joined cold would be picked for calls it answers only after the warm-up.
        builder.Services.AddAsymCdcInference(builder.Configuration);
        // Once active, no older incarnation of this silo is left listed as alive (see OlderIncarnationCleanup).
        builder.Services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>, OlderIncarnationCleanup>();
        // A frontend serves queries of its own once active, before it reports ready (see FrontendWarmup).
        builder.Services.AddAsymCdcFrontendWarmup();
        builder.UseOrleans(silo => silo.UseAsymCdcClustering(options).AddAsymCdcRoles(options));
        return options;
    }
}
