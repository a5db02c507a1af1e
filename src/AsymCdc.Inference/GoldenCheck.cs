using System.Text.Json;

namespace AsymCdc.Inference;

/// <summary>How far a loaded model is from its <c>golden.json</c> (inputs and outputs recorded at export): the largest
/// absolute difference over every output element, against the file's tolerance.</summary>
public sealed record GoldenCheckResult(string Model, string WorstOutput, float MaxAbsDiff, float Tolerance)
{
    public bool Passed => MaxAbsDiff <= Tolerance;
}

/// <summary>Runs a model on the inputs of the <c>golden.json</c> next to its <c>model.onnx</c> and compares every output
/// with the recorded one: the check a new machine or execution provider has to pass (tests, <c>asymcdc-devicecheck</c>).</summary>
public static class GoldenCheck
{
    public const string FileName = "golden.json";

    public static async Task<GoldenCheckResult> RunAsync(OnnxModelFunction function)
    {
        ArgumentNullException.ThrowIfNull(function);
        var path = Path.Combine(Path.GetDirectoryName(function.ModelPath)!, FileName);
        using var golden = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var tolerance = golden.RootElement.GetProperty("tolerance").GetSingle();
        var input = golden.RootElement.GetProperty("inputs").GetProperty(function.Config.Input.Name);
        var outputs = await function.RunAsync(Floats(input.GetProperty("data")), input.GetProperty("shape")[0].GetInt32());
        var worst = 0f;
        var worstOutput = function.Config.Outputs[0].Name;
        for (var o = 0; o < function.Config.Outputs.Count; o++)
        {
            var name = function.Config.Outputs[o].Name;
            var expected = Floats(golden.RootElement.GetProperty("outputs").GetProperty(name).GetProperty("data"));
            if (expected.Length != outputs[o].Length)
            {
                throw new InvalidOperationException(
                    $"{function.Name} output '{name}' has {outputs[o].Length} values but {path} records {expected.Length}");
            }

            for (var i = 0; i < expected.Length; i++)
            {
                var diff = Math.Abs(expected[i] - outputs[o][i]);
                if (diff > worst || float.IsNaN(diff))
                {
                    worst = float.IsNaN(diff) ? float.PositiveInfinity : diff;
                    worstOutput = name;
                }
            }
        }

        return new GoldenCheckResult(function.Name, worstOutput, worst, tolerance);
    }

    private static float[] Floats(JsonElement array)
    {
        var values = new float[array.GetArrayLength()];
        var i = 0;
        foreach (var v in array.EnumerateArray())
        {
            values[i++] = v.GetSingle();
        }

        return values;
    }
}
