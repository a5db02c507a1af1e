using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Gateway.Tests;

/// <summary>The gateway's meter records each infer request by status and each answer by how it was served.</summary>
[Collection(GatewayClusterCollection.Name)]
public sealed class GatewayMetricsTests(GatewayClusterFixture fixture)
{
    [Fact]
    public async Task Requests_and_answers_are_counted()
    {
        // Listen only to this gateway's meter: other gateways in the process publish under the same name.
        var factory = fixture.Gateway.Services.GetRequiredService<IMeterFactory>();
        var requests = new List<(long Value, object? Status)>();
        var predictions = new List<(long Value, object? ServedBy)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, factory) && instrument.Meter.Name == GatewayInstruments.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (requests)
            {
                var tag = tags.Length > 0 ? tags[0].Value : null;
                (instrument.Name == "asymcdc.gateway.requests" ? requests : predictions).Add((value, tag));
            }
        });
        listener.Start();

        var image = InferRequestParserTests.Flat(new float[784]);
        using (var ok = await Post(InferRequestParserTests.Body(shape: "[2,1,28,28]", data: InferRequestParserTests.Flat(new float[2 * 784]), parameters: """{"mode":"none"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var bad = await Post(InferRequestParserTests.Body(datatype: "INT8", data: image)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        }

        lock (requests)
        {
            // Other tests of the collection do not run concurrently, so exactly these two requests were recorded.
            Assert.Equal([(1L, (object?)200), (1L, 400)], requests);
            Assert.Equal([(1L, (object?)"direct"), (1L, "direct")], predictions);
        }
    }

    private Task<HttpResponseMessage> Post(string body) =>
        fixture.Http.PostAsync("/v2/models/fmnist/infer", new StringContent(body, Encoding.UTF8, "application/json"));
}
