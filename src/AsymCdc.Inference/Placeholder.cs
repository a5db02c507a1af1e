namespace Probe; public static class P { }
