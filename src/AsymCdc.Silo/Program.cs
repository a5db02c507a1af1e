// asymcdc-silo: one AsymCDC silo. Roles, clustering and ports come from AsymCdc:Silo (appsettings or AsymCdc__Silo__*).
using AsymCdc.Grains;
using AsymCdc.Hosting;
using Microsoft.Extensions.Options;

var builder = WebApplication.CreateBuilder(args);

SiloOptions silo;
try
{
    // Validated before anything starts: clustering and ports depend on it.
    silo = builder.AddAsymCdcSilo();
    builder.AddAsymCdcEndpoints(gateway: silo.HasRole(SiloRoles.Frontend));
}
catch (OptionsValidationException e)
{
    Console.Error.WriteLine($"asymcdc-silo: invalid configuration: {string.Join("; ", e.Failures)}");
    return 2;
}

builder.WebHost.UseUrls($"http://0.0.0.0:{silo.HttpPort}");
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = silo.DrainTimeout + TimeSpan.FromSeconds(10));
builder.Services.AddAsymCdcHealthChecks();
if (silo.HasRole(SiloRoles.Frontend))
{
    builder.Services.AddAsymCdcGatewayReadiness((services, _) =>
        ValueTask.FromResult(services.GetRequiredService<SiloReadiness>() is { ModelsWarm: true, Joined: true }));
}

var app = builder.Build();
app.MapAsymCdcEndpoints(gateway: silo.HasRole(SiloRoles.Frontend));

try
{
    await app.RunAsync();
    return 0;
}
catch (Exception e) when (e is OptionsValidationException or InvalidOperationException or AsymCdc.Inference.ModelRepositoryException)
{
    // One clear line (the options validators and the Redis check name the key and value), and a failing exit code.
    Console.Error.WriteLine($"asymcdc-silo: start-up failed: {(e is OptionsValidationException o ? string.Join("; ", o.Failures) : e.Message)}");
    return 1;
}
