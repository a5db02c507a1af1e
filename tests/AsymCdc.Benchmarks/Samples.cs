namespace AsymCdc.Benchmarks;

internal static class Samples
{
    /// <summary>Deterministic pixel-like values in [0, 1].</summary>
    public static float[] Images(int count, int length, int seed)
    {
        var random = new Random(seed);
        var values = new float[count * length];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = (float)random.NextDouble();
        }

        return values;
    }
}
